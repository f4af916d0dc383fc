/**
 * `gbp export --format onnx`: a folder with model.onnx (the graph of bert-graph.ts, weights float32 or float16),
 * config.json (the BERT shape, per-layer widths, the graph's inputs and outputs) and the tokenizer
 * files of the Hugging Face export. Checked before anything is written; written whole.
 */
import { readFileSync } from 'node:fs';
import { checkExportTarget, type LoadedModel } from '@gbp/core';
import { bertShapeFields, checkWeights, layerDff, layerHeads, LAYER_NORM_EPS, tokenizerFiles, writeFolderAtomic, type ModelConfig } from '@gbp/core/internal';
import { bertOnnxModel, ONNX_INPUTS, ONNX_IR_VERSION, ONNX_OPSET, ONNX_OUTPUTS } from './bert-graph.js';
import { encodeModel } from './proto.js';
import type { ExportSummary } from '../formats.js';

export const ONNX_DTYPES = ['float32', 'float16'] as const;
export type OnnxDtype = (typeof ONNX_DTYPES)[number];
export const ONNX_FILES = { model: 'model.onnx', config: 'config.json' } as const;

/** @gbp/cli's version, written as the model's producer_version. */
const PRODUCER_VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** config.json: BertConfig's fields where they apply, the per-layer widths, and how to call the graph. */
function onnxConfig(config: ModelConfig, task: string | undefined, dtype: OnnxDtype): Record<string, unknown> {
  const widths = Array.from({ length: config.num_layers }, (_, i) => i);
  return {
    ...bertShapeFields(config),
    heads_per_layer: widths.map((i) => layerHeads(config, i)),
    dff_per_layer: widths.map((i) => layerDff(config, i)),
    hidden_act: 'gelu',
    layer_norm_eps: config.layer_norm_eps ?? LAYER_NORM_EPS,
    vocab_size: config.vocab_size,
    max_position_embeddings: config.max_len,
    type_vocab_size: config.type_vocab_size,
    num_labels: config.num_labels,
    ...(task !== undefined && { task }),
    onnx: { file: ONNX_FILES.model, opset: ONNX_OPSET, ir_version: ONNX_IR_VERSION, inputs: ONNX_INPUTS, outputs: ONNX_OUTPUTS, dtype },
  };
}

/** Writes `model` as an ONNX folder `dir`; refuses a non-empty `dir` unless `force`. */
export async function exportOnnxFolder(dir: string, model: LoadedModel, options: { dtype: string; force: boolean }): Promise<ExportSummary> {
  checkExportTarget(dir, { force: options.force, sourceDir: model.dir });
  const dtype = options.dtype as OnnxDtype;
  if (!ONNX_DTYPES.includes(dtype)) throw new Error(`ONNX export: dtype must be one of ${ONNX_DTYPES.join(', ')}, got '${options.dtype}'`);
  checkWeights(model.config, model.weights, 'ONNX export');
  const files = new Map<string, string | Uint8Array>();
  files.set(ONNX_FILES.model, encodeModel(bertOnnxModel(model.config, model.weights, PRODUCER_VERSION, dtype)));
  files.set(ONNX_FILES.config, `${JSON.stringify(onnxConfig(model.config, model.task, dtype), null, 2)}\n`);
  const notes: string[] = [];
  if (model.tokenizerPath !== undefined) {
    for (const [name, data] of tokenizerFiles(model.tokenizerPath, model.lowercase, model.config.max_len)) files.set(name, data);
  } else {
    notes.push('the model has no vocab.txt or tokenizer.json: the export has no tokenizer (add the one it was trained with)');
  }
  await writeFolderAtomic(dir, files);
  const params = [...model.weights.values()].reduce((n, t) => n + t.data.length, 0);
  return { files: [...files.keys()], notes, params, extraParams: 0 };
}
