/**
 * The BERT classifier's forward pass on tfjs-core ops, the same computation as gbp's own
 * (core's model/encoder.ts): post-LayerNorm, erf GELU, additive attention mask on padded keys,
 * tanh pooler on [CLS]; per-layer widths, a layer with 0 heads or a 0-wide FFN adding only its
 * output bias. Inference only: no dropout, no masks, no gradients.
 */
import * as tf from '@tensorflow/tfjs-core';
import { layerDff, layerHeads, type RuntimeModelConfig } from '../format/manifest.js';

/** A padded batch, row-major [batchSize, seqLen]. */
export interface BatchInput {
  inputIds: Int32Array;
  typeIds: Int32Array;
  /** 1 for a real token, 0 for padding. */
  attentionMask: Float32Array;
  batchSize: number;
  seqLen: number;
}

export type WeightLookup = (name: string) => tf.Tensor;

/** The word and token-type embedding tables as plain arrays ([rows, d_model], row-major). */
export interface EmbeddingTables {
  word: Float32Array;
  type: Float32Array;
}

/**
 * word[id] + type[typeId] per token, [B*T, d], summed in JS: the same float32 sums as gather + add,
 * without the wasm GatherV2 kernel, which copies element by element (~20 ms at 8 x 128 on tiny).
 */
function embedTokens(tables: EmbeddingTables, input: BatchInput, d: number): tf.Tensor2D {
  const n = input.inputIds.length;
  const out = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    const word = input.inputIds[r]! * d, type = input.typeIds[r]! * d, row = r * d;
    for (let j = 0; j < d; j++) out[row + j] = tables.word[word + j]! + tables.type[type + j]!;
  }
  return tf.tensor2d(out, [n, d]);
}

function dense(x: tf.Tensor2D, w: WeightLookup, prefix: string): tf.Tensor2D {
  return tf.add(tf.matMul(x, w(`${prefix}.weight`) as tf.Tensor2D), w(`${prefix}.bias`));
}

function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), eps));
  return tf.add(tf.mul(tf.mul(centered, rstd), gamma), beta);
}

/**
 * Multi-head attention of q, k, v [B*T, H*dh] (q already scaled) to the context [B*T, H*dh], one
 * head of one input at a time on 2-D slices: tfjs-backend-wasm 4.22 runs BatchMatMul on XNNPACK
 * only for batch 1 without transpose flags (a scalar loop otherwise: measured in core's
 * backend/wasm/kernels/fast_matmul.ts, ~3 against ~44 GFLOP/s), and its 4-D transposes are slow;
 * slices and 2-D transposes copy O(T·dh), the products cost O(T²·dh).
 */
function attention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, maskRows: tf.Tensor2D[], B: number, T: number, H: number, dh: number): tf.Tensor2D {
  const rows: tf.Tensor2D[] = [];
  for (let b = 0; b < B; b++) {
    const heads: tf.Tensor2D[] = [];
    for (let i = 0; i < H; i++) {
      const at = (x: tf.Tensor2D) => tf.slice(x, [b * T, i * dh], [T, dh]);
      const scores = tf.add(tf.matMul(at(q), tf.transpose(at(k))), maskRows[b]!);
      heads.push(tf.matMul(tf.softmax(scores, -1), at(v)));
    }
    rows.push(H === 1 ? heads[0]! : tf.concat(heads, 1));
  }
  return B === 1 ? rows[0]! : tf.concat(rows, 0);
}

/** erf GELU: x·Φ(x). */
const gelu = (x: tf.Tensor): tf.Tensor => tf.mul(x, tf.mul(tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1), 0.5));

/** Logits [B, num_labels]. Call inside tf.tidy. */
export function forwardLogits(c: RuntimeModelConfig, w: WeightLookup, tables: EmbeddingTables, input: BatchInput): tf.Tensor2D {
  const { batchSize: B, seqLen: T } = input;
  const d = c.d_model;
  const dh = d / c.num_heads;
  const eps = c.layer_norm_eps;
  if (T > c.max_len) throw new Error(`sequence length ${T} exceeds the model's max_len ${c.max_len}`);

  const pos = tf.slice(w('embeddings.position_embeddings.weight'), [0, 0], [T, d]);
  const summed = tf.add(tf.reshape(embedTokens(tables, input, d), [B, T, d]), pos);
  let h = tf.reshape(layerNorm(summed, w('embeddings.LayerNorm.weight'), w('embeddings.LayerNorm.bias'), eps), [B * T, d]) as tf.Tensor2D;

  // 0 for real keys, -1e9 for padded ones: padded keys get exactly zero attention. One [1, T] row per input.
  const maskAdd = tf.mul(tf.sub(1, tf.tensor2d(input.attentionMask, [B, T], 'float32')), -1e9);
  const maskRows = Array.from({ length: B }, (_, b) => tf.slice(maskAdd, [b, 0], [1, T]) as tf.Tensor2D);
  const scale = 1 / Math.sqrt(dh);
  for (let i = 0; i < c.num_layers; i++) {
    const p = `encoder.layer.${i}`;
    const H = layerHeads(c, i);
    let attnOut: tf.Tensor;
    if (H > 0) {
      const q = tf.mul(dense(h, w, `${p}.attention.self.query`), scale) as tf.Tensor2D;
      const k = dense(h, w, `${p}.attention.self.key`);
      const v = dense(h, w, `${p}.attention.self.value`);
      const context = attention(q, k, v, maskRows, B, T, H, dh);
      attnOut = dense(context, w, `${p}.attention.output.dense`);
    } else {
      attnOut = w(`${p}.attention.output.dense.bias`);
    }
    h = layerNorm(tf.add(attnOut, h), w(`${p}.attention.output.LayerNorm.weight`), w(`${p}.attention.output.LayerNorm.bias`), eps) as tf.Tensor2D;
    const ffnOut = layerDff(c, i) > 0 ? dense(gelu(dense(h, w, `${p}.intermediate.dense`)) as tf.Tensor2D, w, `${p}.output.dense`) : w(`${p}.output.dense.bias`);
    h = layerNorm(tf.add(ffnOut, h), w(`${p}.output.LayerNorm.weight`), w(`${p}.output.LayerNorm.bias`), eps) as tf.Tensor2D;
  }
  const cls = tf.reshape(tf.slice(tf.reshape(h, [B, T, d]), [0, 0, 0], [B, 1, d]), [B, d]) as tf.Tensor2D;
  const pooled = tf.tanh(dense(cls, w, 'pooler.dense')) as tf.Tensor2D;
  return dense(pooled, w, 'classifier');
}
