import { describe, expect, it } from 'vitest';
import { accuracy, averageRanks, computeMetrics, f1, matthewsCorrelation, pearson, spearman } from './metrics.js';
import { TASKS, getTask, taskSplits } from './tasks.js';
import { TASK_NAMES } from '../spec.js';

// tp = 2 (i0, i4), fp = 1 (i1), fn = 1 (i3), tn = 2 (i2, i5)
const preds = [1, 1, 0, 0, 1, 0];
const labels = [1, 0, 0, 1, 1, 0];

describe('classification metrics (hand-computed)', () => {
  it('accuracy, F1 of class 1, binary MCC', () => {
    expect(accuracy(preds, labels)).toBeCloseTo(4 / 6, 12);
    expect(f1(preds, labels)).toBeCloseTo(4 / 6, 12); // 2tp / (2tp + fp + fn) = 4/6
    // (tp*tn - fp*fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn)) = 3 / 9
    expect(matthewsCorrelation(preds, labels)).toBeCloseTo(1 / 3, 12);
  });

  it('multiclass MCC (scikit-learn form)', () => {
    // c=2, s=4, p=(2,1,1), t=(1,2,1): (2*4 - 5) / sqrt((16-6)(16-6)) = 0.3
    expect(matthewsCorrelation([0, 1, 2, 0], [0, 1, 1, 2])).toBeCloseTo(0.3, 12);
  });

  it('perfect and inverted predictions', () => {
    expect(matthewsCorrelation(labels, labels)).toBeCloseTo(1, 12);
    expect(matthewsCorrelation(labels.map((l) => 1 - l), labels)).toBeCloseTo(-1, 12);
    expect(f1(labels, labels)).toBe(1);
  });

  it('degenerate inputs give 0, not NaN', () => {
    expect(matthewsCorrelation([1, 1, 1, 1], [0, 1, 0, 1])).toBe(0); // constant predictions
    expect(matthewsCorrelation([0, 1, 0, 1], [1, 1, 1, 1])).toBe(0); // constant labels
    expect(f1([0, 0, 0], [0, 0, 0])).toBe(0); // no positive class anywhere
    expect(pearson([2, 2, 2], [1, 2, 3])).toBe(0);
    expect(spearman([1, 2, 3], [5, 5, 5])).toBe(0);
  });

  it('rejects mismatched or empty inputs', () => {
    expect(() => accuracy([1], [1, 0])).toThrow(/1 predictions but 2 labels/);
    expect(() => accuracy([], [])).toThrow(/no examples/);
  });
});

describe('regression metrics (hand-computed)', () => {
  it('pearson', () => {
    // dx = (-1.5, -.5, .5, 1.5), dy = (-3, -1, 0, 4): 11 / sqrt(5 * 26)
    expect(pearson([1, 2, 3, 4], [2, 4, 5, 9])).toBeCloseTo(11 / Math.sqrt(130), 12);
  });

  it('average ranks for ties', () => {
    expect(Array.from(averageRanks([10, 20, 20, 30]))).toEqual([1, 2.5, 2.5, 4]);
    expect(Array.from(averageRanks([3, 1, 3, 3]))).toEqual([3, 1, 3, 3]);
  });

  it('spearman with ties', () => {
    // ranks x = (1, 2.5, 2.5, 4), y = (1, 3, 2, 4): 4.5 / sqrt(4.5 * 5) = 3 / sqrt(10)
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(3 / Math.sqrt(10), 12);
    // monotone but non-linear: spearman 1, pearson < 1
    expect(spearman([1, 2, 3, 4], [1, 4, 9, 100])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3, 4], [1, 4, 9, 100])).toBeLessThan(0.9);
  });
});

describe('computeMetrics', () => {
  it('returns exactly the official keys per task', () => {
    expect(Object.keys(computeMetrics('sst2', preds, labels))).toEqual(['accuracy']);
    expect(computeMetrics('mrpc', preds, labels)).toEqual({ accuracy: 4 / 6, f1: 4 / 6 });
    expect(Object.keys(computeMetrics('cola', preds, labels))).toEqual(['matthews_correlation']);
    expect(Object.keys(computeMetrics('stsb', [1, 2, 3], [1, 2, 4]))).toEqual(['pearson', 'spearman']);
    expect(computeMetrics('mnli', [0, 1, 2], [0, 1, 1])).toEqual({ accuracy: 2 / 3 });
  });

  it('accepts typed arrays', () => {
    expect(computeMetrics('rte', Int32Array.from(preds), Float32Array.from(labels)).accuracy).toBeCloseTo(4 / 6);
  });
});

describe('task registry', () => {
  it('has every task with the Hub field names', () => {
    expect(Object.keys(TASKS).sort()).toEqual([...TASK_NAMES].sort());
    expect(getTask('sst2').textFields).toEqual(['sentence']);
    expect(getTask('qnli').textFields).toEqual(['question', 'sentence']);
    expect(getTask('mnli').textFields).toEqual(['premise', 'hypothesis']);
    expect(getTask('mnli').numLabels).toBe(3);
    expect(getTask('stsb')).toMatchObject({ numLabels: 1, isRegression: true });
    expect(getTask('mnli').evalSplits).toEqual(['validation_matched', 'validation_mismatched']);
    expect(taskSplits(getTask('mnli'))).toContain('test_mismatched');
    for (const task of Object.values(TASKS)) {
      expect(task.metrics).toContain(task.primaryMetric);
      expect(task.labelNames.length).toBe(task.numLabels);
    }
  });

  it('names the known tasks for an unknown one', () => {
    expect(() => getTask('qqp' as never)).toThrow(/unknown GLUE task 'qqp'; expected one of sst2/);
  });
});
