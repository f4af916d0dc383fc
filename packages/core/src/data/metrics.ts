/**
 * The official GLUE metrics, computed in float64.
 *
 * Degenerate inputs follow scikit-learn's zero_division=0 convention instead of producing NaN:
 * Matthews correlation, F1, Pearson and Spearman are 0 when their denominator is 0 (constant
 * predictions or constant labels, no positive class at all). A NaN would poison "best epoch"
 * comparisons and CSV columns, while 0 correctly says "no measurable agreement".
 */
import type { Metrics } from '../events.js';
import type { TaskName } from '../spec.js';
import { getTask } from './tasks.js';

type Values = ArrayLike<number>;

function checkLengths(predictions: Values, labels: Values): number {
  if (predictions.length !== labels.length) {
    throw new Error(`metrics: ${predictions.length} predictions but ${labels.length} labels`);
  }
  if (labels.length === 0) throw new Error('metrics: no examples to score');
  return labels.length;
}

/** Fraction of predictions equal to their label. */
export function accuracy(predictions: Values, labels: Values): number {
  const n = checkLengths(predictions, labels);
  let correct = 0;
  for (let i = 0; i < n; i++) if (predictions[i] === labels[i]) correct++;
  return correct / n;
}

/** Binary confusion counts with class 1 as the positive class. */
function confusion(predictions: Values, labels: Values) {
  const n = checkLengths(predictions, labels);
  let tp = 0, fp = 0, fn = 0, tn = 0;
  for (let i = 0; i < n; i++) {
    const p = predictions[i] === 1, l = labels[i] === 1;
    if (p && l) tp++;
    else if (p) fp++;
    else if (l) fn++;
    else tn++;
  }
  return { tp, fp, fn, tn };
}

/** F1 of the positive class 1 (GLUE's mrpc F1); 0 when there is no positive prediction or label. */
export function f1(predictions: Values, labels: Values): number {
  const { tp, fp, fn } = confusion(predictions, labels);
  const denominator = 2 * tp + fp + fn;
  return denominator === 0 ? 0 : (2 * tp) / denominator;
}

/**
 * Matthews correlation for class ids (the multiclass form of scikit-learn, which equals the
 * binary phi coefficient for two classes); 0 when predictions or labels are constant.
 */
export function matthewsCorrelation(predictions: Values, labels: Values): number {
  const n = checkLengths(predictions, labels);
  const predicted = new Map<number, number>();
  const actual = new Map<number, number>();
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const p = predictions[i]!, l = labels[i]!;
    predicted.set(p, (predicted.get(p) ?? 0) + 1);
    actual.set(l, (actual.get(l) ?? 0) + 1);
    if (p === l) correct++;
  }
  let pk = 0, pp = 0, tt = 0;
  for (const [k, count] of predicted) {
    pp += count * count;
    pk += count * (actual.get(k) ?? 0);
  }
  for (const count of actual.values()) tt += count * count;
  const denominator = Math.sqrt((n * n - pp) * (n * n - tt));
  return denominator === 0 ? 0 : (correct * n - pk) / denominator;
}

/** Pearson correlation; 0 when either side is constant. */
export function pearson(x: Values, y: Values): number {
  const n = checkLengths(x, y);
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx, dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  const denominator = Math.sqrt(sxx * syy);
  return denominator === 0 ? 0 : sxy / denominator;
}

/** 1-based ranks, ties sharing the average of the ranks they span (scipy's 'average'). */
export function averageRanks(values: Values): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && values[order[end]!] === values[order[start]!]) end++;
    const rank = (start + 1 + end) / 2; // mean of start+1 .. end
    for (let k = start; k < end; k++) ranks[order[k]!] = rank;
    start = end;
  }
  return ranks;
}

/** Spearman rank correlation: Pearson of average ranks; 0 when either side is constant. */
export function spearman(x: Values, y: Values): number {
  checkLengths(x, y);
  return pearson(averageRanks(x), averageRanks(y));
}

/**
 * The task's official metrics: `accuracy`; `accuracy` and `f1` for mrpc; `matthews_correlation`
 * for cola; `pearson` and `spearman` for stsb. Predictions are class ids (values for stsb).
 * For mnli it scores one split; the caller names the keys per split.
 */
export function computeMetrics(task: TaskName, predictions: Values, labels: Values): Metrics {
  const info = getTask(task);
  const metrics: Metrics = {};
  for (const name of info.metrics) {
    switch (name) {
      case 'accuracy':
        metrics.accuracy = accuracy(predictions, labels);
        break;
      case 'f1':
        metrics.f1 = f1(predictions, labels);
        break;
      case 'matthews_correlation':
        metrics.matthews_correlation = matthewsCorrelation(predictions, labels);
        break;
      case 'pearson':
        metrics.pearson = pearson(predictions, labels);
        break;
      case 'spearman':
        metrics.spearman = spearman(predictions, labels);
        break;
      default:
        throw new Error(`metrics: no implementation for '${name}' (task ${task})`);
    }
  }
  return metrics;
}
