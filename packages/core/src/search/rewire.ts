/**
 * DynaBERT's network rewiring: heads and FFN neurons of each layer reordered by importance, so that
 * a sub-network keeping the first k heads and n neurons of a layer keeps its most important ones
 * (what a weight-sharing supernet needs before its sub-networks are trained). Importance is the
 * magnitude of the loss's gradient with respect to a head's (a neuron's) output scale, summed over
 * batches (Michel et al. 2019, as DynaBERT does): for head h, Σ W ⊙ ∂L/∂W over the rows of
 * attention.output.dense that read h; for neuron n, over the row of output.dense that reads n.
 * Reordering permutes weights, biases and masks together: the model computes the same function.
 * Groundwork for issue 14.
 */
import { tf } from '../tf.js';
import { headSize, layerDff, layerHeads } from '../model/config.js';
import { lossAndGradients, type GatedBert, type ModelInput } from '../model/encoder.js';

export interface StructureImportance {
  /** heads[layer][h] */
  readonly heads: readonly (readonly number[])[];
  /** neurons[layer][n] */
  readonly neurons: readonly (readonly number[])[];
}

/**
 * One batch the importance is measured on; a micro-batch of a larger batch carries that batch's size
 * as `divisor`, so cutting a batch (to fit the wasm heap) does not change the importance.
 */
export type ImportanceBatch = ModelInput & { labels: Float32Array; divisor?: number };

/** Importance of every head and FFN neuron over `batches` (dropout off). */
export function structureImportance(model: GatedBert, batches: readonly ImportanceBatch[]): StructureImportance {
  const { config } = model;
  const dh = headSize(config);
  const d = config.d_model;
  const index = new Map(model.specs.map((s, i) => [s.name, i]));
  const heads = Array.from({ length: config.num_layers }, (_, i) => new Float64Array(layerHeads(config, i)));
  const neurons = Array.from({ length: config.num_layers }, (_, i) => new Float64Array(layerDff(config, i)));
  for (const batch of batches) {
    const { value, grads } = lossAndGradients(model, batch, { training: false, divisor: batch.divisor ?? batch.batchSize });
    try {
      const rowSums = (name: string, rows: number, groupSize: number, into: Float64Array) => {
        const i = index.get(name);
        if (i === undefined) return;
        const gate = model.gateOf(name);
        const w = (gate ? tf.tidy(() => gate.effective()) : model.param(name)) as tf.Tensor;
        const W = w.dataSync();
        const G = grads[i]!.dataSync();
        if (gate) w.dispose();
        for (let r = 0; r < rows; r++) {
          let s = 0;
          for (let c = 0; c < d; c++) s += W[r * d + c]! * G[r * d + c]!;
          into[Math.floor(r / groupSize)]! += s;
        }
      };
      for (let l = 0; l < config.num_layers; l++) {
        rowSums(`encoder.layer.${l}.attention.output.dense.weight`, layerHeads(config, l) * dh, dh, heads[l]!);
        rowSums(`encoder.layer.${l}.output.dense.weight`, layerDff(config, l), 1, neurons[l]!);
      }
    } finally {
      tf.dispose([value, ...grads]);
    }
  }
  return { heads: heads.map((h) => Array.from(h, Math.abs)), neurons: neurons.map((n) => Array.from(n, Math.abs)) };
}

/** Indices sorted by descending importance (ties keep their order). */
const byImportance = (importance: readonly number[]) => importance.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, i]) => i);

/**
 * Reorders every layer's heads and neurons by `importance`, most important first: the columns of
 * query, key, value (weights, biases, masks), the rows of attention.output.dense, the columns of
 * intermediate.dense and the rows of output.dense. Returns the orders applied.
 */
export function rewire(model: GatedBert, importance: StructureImportance): { heads: number[][]; neurons: number[][] } {
  const { config } = model;
  const dh = headSize(config);
  const orders = { heads: [] as number[][], neurons: [] as number[][] };
  for (let l = 0; l < config.num_layers; l++) {
    const p = `encoder.layer.${l}`;
    const headOrder = byImportance(importance.heads[l] ?? []);
    const neuronOrder = byImportance(importance.neurons[l] ?? []);
    orders.heads.push(headOrder);
    orders.neurons.push(neuronOrder);
    // Column c of the new matrix is column source(c) of the old one.
    const headColumn = (c: number) => headOrder[Math.floor(c / dh)]! * dh + (c % dh);
    if (headOrder.length > 0) {
      for (const role of ['self.query', 'self.key', 'self.value']) {
        permuteColumns(model, `${p}.attention.${role}.weight`, headColumn);
        permuteColumns(model, `${p}.attention.${role}.bias`, headColumn);
      }
      permuteRows(model, `${p}.attention.output.dense.weight`, headColumn);
    }
    if (neuronOrder.length > 0) {
      permuteColumns(model, `${p}.intermediate.dense.weight`, (c) => neuronOrder[c]!);
      permuteColumns(model, `${p}.intermediate.dense.bias`, (c) => neuronOrder[c]!);
      permuteRows(model, `${p}.output.dense.weight`, (r) => neuronOrder[r]!);
    }
  }
  return orders;
}

/** Permutes the last axis of a parameter (and of its gate's mask) by `source`. */
function permuteColumns(model: GatedBert, name: string, source: (c: number) => number): void {
  const shape = model.param(name).shape;
  const cols = shape[shape.length - 1]!;
  const rows = shape.length === 1 ? 1 : shape[0]!;
  const permute = (x: ArrayLike<number>) => {
    const out = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = x[r * cols + source(c)]!;
    return out;
  };
  apply(model, name, permute);
}

/** Permutes the rows of a [rows, cols] parameter (and of its gate's mask) by `source`. */
function permuteRows(model: GatedBert, name: string, source: (r: number) => number): void {
  const [rows, cols] = model.param(name).shape as [number, number];
  const permute = (x: ArrayLike<number>) => {
    const out = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const from = source(r) * cols;
      for (let c = 0; c < cols; c++) out[r * cols + c] = x[from + c]!;
    }
    return out;
  };
  apply(model, name, permute);
}

function apply(model: GatedBert, name: string, permute: (x: ArrayLike<number>) => Float32Array): void {
  const variable = model.param(name);
  const next = tf.tensor(permute(variable.dataSync()), variable.shape, 'float32');
  variable.assign(next);
  next.dispose();
  const gate = model.gateOf(name);
  if (gate) gate.setMask(permute(gate.mask.dataSync()));
}
