/**
 * A (compacted) gbp model as ONNX's BertForSequenceClassification graph, computing what core's
 * forward pass computes (encoder.ts): post-LN BERT, erf GELU, LayerNorm ε from the config, an
 * additive attention mask, a tanh pooler on [CLS]. Per-layer widths come from heads_per_layer /
 * dff_per_layer; a layer with 0 heads adds only attention.output.dense.bias, a 0-wide FFN only
 * output.dense.bias. Weights keep gbp's names and [in, out] layout (MatMul takes them as they are).
 *
 * Opset 17: the first with LayerNormalization (one fused op instead of seven), which
 * onnxruntime-node and onnxruntime-web both run; GELU is spelled with Erf (Gelu arrived in 20).
 */
import { headSize, LAYER_NORM_EPS, layerDff, layerHeads, type ModelConfig, type NamedTensor } from '@gbp/core/internal';
import { GraphBuilder, type WeightDtype } from './graph-builder.js';
import { ONNX_DTYPE, type ModelObject, type ValueInfoObject } from './proto.js';

export const ONNX_OPSET = 17;
/** IR version 8: the one opset 17 came with, so older runtimes read the file too. */
export const ONNX_IR_VERSION = 8;
export const ONNX_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
export const ONNX_OUTPUTS = ['logits', 'pooler_output'] as const;

/** float32's lowest value: what BERT adds to the scores of padded keys. */
const FLOAT32_LOWEST = -3.4028234663852886e38;

const tokens = (name: string): ValueInfoObject => ({
  name,
  type: { tensor_type: { elem_type: ONNX_DTYPE.int64, shape: { dim: [{ dim_param: 'batch' }, { dim_param: 'sequence' }] } } },
});
const floats = (name: string, width: number): ValueInfoObject => ({
  name,
  type: { tensor_type: { elem_type: ONNX_DTYPE.float32, shape: { dim: [{ dim_param: 'batch' }, { dim_value: width }] } } },
});

/**
 * The ModelProto of `config` with `weights` (every parameter of parameterSpecs(config), checked by
 * the caller), stored as `dtype`.
 */
export function bertOnnxModel(config: ModelConfig, weights: ReadonlyMap<string, NamedTensor>, producerVersion: string, dtype: WeightDtype = 'float32'): ModelObject {
  const g = new GraphBuilder();
  const w = (name: string) => {
    const t = weights.get(name);
    if (t === undefined) throw new Error(`ONNX export: tensor '${name}' is missing`);
    return g.weight(name, t.shape, t.data, dtype);
  };
  const d = config.d_model;
  const dh = headSize(config);
  const eps = config.layer_norm_eps ?? LAYER_NORM_EPS;
  const linear = (x: string, prefix: string, out: string) => g.op('Add', [g.op('MatMul', [x, w(`${prefix}.weight`)], `${out}_matmul`), w(`${prefix}.bias`)], out);
  const layerNorm = (x: string, prefix: string, out: string) =>
    g.op('LayerNormalization', [x, w(`${prefix}.weight`), w(`${prefix}.bias`)], out, { axis: -1, epsilon: { float: eps } });

  for (const name of [...ONNX_INPUTS, ...ONNX_OUTPUTS]) g.fresh(name);

  // Embeddings: word + token type + position (the first `sequence` rows of the table), LayerNorm.
  const word = g.op('Gather', [w('embeddings.word_embeddings.weight'), 'input_ids'], 'word_embeddings');
  const type = g.op('Gather', [w('embeddings.token_type_embeddings.weight'), 'token_type_ids'], 'token_type_embeddings');
  const seqLen = g.op('Shape', ['input_ids'], 'sequence_length', { start: 1, end: 2 });
  const positions = g.op('Slice', [w('embeddings.position_embeddings.weight'), g.int64('zero', [0]), seqLen, g.int64('zero', [0])], 'position_embeddings');
  const summed = g.op('Add', [g.op('Add', [word, type], 'word_type'), positions], 'embeddings_sum');
  let h = layerNorm(summed, 'embeddings.LayerNorm', 'embeddings');

  // Additive key mask [batch, 1, 1, sequence]: 0 for real tokens, float32's lowest for padding.
  const keep = g.op('Cast', ['attention_mask'], 'attention_mask_float', { to: ONNX_DTYPE.float32 });
  const masked = g.op('Sub', [g.scalar('one', 1), keep], 'attention_mask_inverted');
  const maskAdd = g.op('Unsqueeze', [g.op('Mul', [masked, g.scalar('float32_lowest', FLOAT32_LOWEST)], 'attention_mask_scaled'), g.int64('mask_axes', [1, 2])], 'attention_mask_additive');
  const scale = g.scalar('attention_scale', 1 / Math.sqrt(dh));

  for (let i = 0; i < config.num_layers; i++) {
    const p = `encoder.layer.${i}`;
    const heads = layerHeads(config, i);
    let attention: string;
    if (heads > 0) {
      // [batch, sequence, heads*dh] -> [batch, heads, sequence, dh] (K: [batch, heads, dh, sequence]).
      const split = g.int64('split_heads', [0, 0, heads, dh]);
      const toHeads = (x: string, perm: readonly number[], out: string) => g.op('Transpose', [g.op('Reshape', [x, split], `${out}_split`)], out, { perm });
      const q = toHeads(g.op('Mul', [linear(h, `${p}.attention.self.query`, `l${i}_query`), scale], `l${i}_query_scaled`), [0, 2, 1, 3], `l${i}_q`);
      const k = toHeads(linear(h, `${p}.attention.self.key`, `l${i}_key`), [0, 2, 3, 1], `l${i}_kT`);
      const v = toHeads(linear(h, `${p}.attention.self.value`, `l${i}_value`), [0, 2, 1, 3], `l${i}_v`);
      const scores = g.op('Add', [g.op('MatMul', [q, k], `l${i}_scores_raw`), maskAdd], `l${i}_scores`);
      const probs = g.op('Softmax', [scores], `l${i}_probs`, { axis: -1 });
      const context = g.op('Transpose', [g.op('MatMul', [probs, v], `l${i}_context_heads`)], `l${i}_context_t`, { perm: [0, 2, 1, 3] });
      const merged = g.op('Reshape', [context, g.int64('merge_heads', [0, 0, heads * dh])], `l${i}_context`);
      attention = g.op('Add', [linear(merged, `${p}.attention.output.dense`, `l${i}_attention`), h], `l${i}_attention_residual`);
    } else {
      attention = g.op('Add', [h, w(`${p}.attention.output.dense.bias`)], `l${i}_attention_residual`);
    }
    h = layerNorm(attention, `${p}.attention.output.LayerNorm`, `l${i}_attention_out`);

    let ffn: string;
    if (layerDff(config, i) > 0) {
      const x = linear(h, `${p}.intermediate.dense`, `l${i}_intermediate`);
      // erf GELU: x * 0.5 * (1 + erf(x / sqrt 2)).
      const erf = g.op('Erf', [g.op('Mul', [x, g.scalar('inv_sqrt2', Math.SQRT1_2)], `l${i}_gelu_scaled`)], `l${i}_gelu_erf`);
      const cdf = g.op('Mul', [g.op('Add', [erf, g.scalar('one', 1)], `l${i}_gelu_erf1`), g.scalar('half', 0.5)], `l${i}_gelu_cdf`);
      const gelu = g.op('Mul', [x, cdf], `l${i}_gelu`);
      ffn = g.op('Add', [linear(gelu, `${p}.output.dense`, `l${i}_ffn`), h], `l${i}_ffn_residual`);
    } else {
      ffn = g.op('Add', [h, w(`${p}.output.dense.bias`)], `l${i}_ffn_residual`);
    }
    h = layerNorm(ffn, `${p}.output.LayerNorm`, `l${i}_out`);
  }

  // Pooler over [CLS] (position 0), then the task head.
  const cls = g.op('Gather', [h, g.int64('cls_index', [0], [])], 'cls', { axis: 1 });
  const pooled = g.op('Tanh', [linear(cls, 'pooler.dense', 'pooler_dense')], 'pooler_tanh');
  g.nodes.push({ op_type: 'Identity', name: 'Identity:pooler_output', input: [pooled], output: ['pooler_output'] });
  g.nodes.push({ op_type: 'Identity', name: 'Identity:logits', input: [linear(pooled, 'classifier', 'classifier')], output: ['logits'] });

  return {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'gbp',
    producer_version: producerVersion,
    doc_string: 'BertForSequenceClassification exported by gbp export --format onnx',
    graph: {
      name: 'bert_for_sequence_classification',
      node: g.nodes,
      initializer: g.initializers,
      input: ONNX_INPUTS.map(tokens),
      output: [floats('logits', config.num_labels), floats('pooler_output', d)],
    },
  };
}
