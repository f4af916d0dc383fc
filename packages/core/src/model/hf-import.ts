/**
 * A Hugging Face BERT checkpoint folder (config.json + model.safetensors, else pytorch_model.bin)
 * as a gbp ModelConfig and weights by gbp name in gbp's [in, out] layout: what
 * InferenceModel.fromWeights and GatedBert.setWeights take. Names may carry the `bert.` prefix
 * (BertForSequenceClassification) or not (BertModel); LayerNorm parameters may be `.gamma/.beta`
 * (older checkpoints) or `.weight/.bias`; linear weights are PyTorch's [out, in] and are
 * transposed; F16 and BF16 weights are widened to float32; `cls.*` pre-training heads are
 * ignored; a missing or mis-sized classifier is created fresh, seeded.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../tf.js';
import { Rng } from '../rng.js';
import { parameterSpecs, type ModelConfig, type ParamSpec } from './config.js';
import { initialValue } from './encoder.js';
import { readHfConfig, type HfConfigOptions } from './hf-config.js';
import { isFloatDtype } from './dtypes.js';
import { readSafetensorsFile, type NamedTensor } from './safetensors.js';
import { readTorchBinFile } from './torch-bin.js';

/** The files of a checkpoint folder; the weights are read from `weights`, else from `torchWeights`. */
export const HF_FILES = { config: 'config.json', weights: 'model.safetensors', torchWeights: 'pytorch_model.bin' } as const;

/** Checkpoint tensors that are not parameters: the pre-training heads and the position-id buffer. */
const IGNORED = [/^cls\./, /^(bert\.)?embeddings\.position_ids$/];

export interface HfImportOptions extends HfConfigOptions {
  /** Seed of a fresh classifier (when the checkpoint has none of the right size); default 0. */
  seed?: number;
  /** Told what the import did that the user should know (a fresh classifier, a model type taken from the name). */
  log?: (message: string) => void;
}

export interface HfImport {
  config: ModelConfig;
  /** Every parameter of parameterSpecs(config), by gbp name, [in, out]. */
  weights: Map<string, NamedTensor>;
  /** Whether the classifier was created here rather than read from the checkpoint. */
  freshClassifier: boolean;
}

/** Reads the checkpoint folder `dir`; errors name the file and the tensor or field at fault. */
export async function importHfFolder(dir: string, options: HfImportOptions = {}): Promise<HfImport> {
  const configFile = join(dir, HF_FILES.config);
  const { config } = await readHfConfig(configFile, options);
  const { file, tensors } = await readHfWeights(dir);
  return { config, ...convertHfWeights(config, tensors, file, options) };
}

/** The checkpoint tensors of folder `dir`: model.safetensors when there is one (safer and faster to read), else pytorch_model.bin. */
async function readHfWeights(dir: string): Promise<{ file: string; tensors: ReadonlyMap<string, NamedTensor & { dtype: string }> }> {
  const safetensors = join(dir, HF_FILES.weights);
  const torchBin = join(dir, HF_FILES.torchWeights);
  if (existsSync(safetensors) || !existsSync(torchBin)) {
    const index = [`${HF_FILES.weights}.index.json`, `${HF_FILES.torchWeights}.index.json`].find((name) => existsSync(join(dir, name)));
    const sharded = index === undefined ? '' : `; ${index} names a sharded checkpoint, which gbp does not read: save it in one file (save_pretrained with a larger max_shard_size)`;
    const hint = `gbp reads a checkpoint's weights from ${HF_FILES.weights}, else ${HF_FILES.torchWeights}, and found neither in ${dir}${sharded}`;
    return { file: safetensors, tensors: (await readSafetensorsFile(safetensors, hint)).tensors };
  }
  return { file: torchBin, tensors: await readTorchBinFile(torchBin, 'the checkpoint weights') };
}

/** The gbp name of checkpoint tensor `name`, or undefined for one that is ignored. */
export function gbpName(name: string): string | undefined {
  if (IGNORED.some((pattern) => pattern.test(name))) return undefined;
  const bare = name.startsWith('bert.') ? name.slice('bert.'.length) : name;
  return bare.replace(/\.LayerNorm\.gamma$/, '.LayerNorm.weight').replace(/\.LayerNorm\.beta$/, '.LayerNorm.bias');
}

/**
 * Checkpoint tensors (HF names, PyTorch layout) as gbp weights for `config`. Refuses unknown, duplicate,
 * missing, mis-shaped or non-float tensors by name (F32, F16 and BF16 arrive as float32 data);
 * `file` names the source in errors.
 */
export function convertHfWeights(
  config: ModelConfig,
  tensors: ReadonlyMap<string, NamedTensor & { dtype?: string }>,
  file: string,
  options: Pick<HfImportOptions, 'seed' | 'log'> = {},
): { weights: Map<string, NamedTensor>; freshClassifier: boolean } {
  const specs = new Map(parameterSpecs(config).map((s) => [s.name, s]));
  const byGbpName = new Map<string, { source: string; tensor: NamedTensor & { dtype?: string } }>();
  const unknown: string[] = [];
  for (const [source, tensor] of tensors) {
    const name = gbpName(source);
    if (name === undefined) continue;
    if (!specs.has(name)) {
      unknown.push(source);
      continue;
    }
    const earlier = byGbpName.get(name);
    if (earlier !== undefined) throw new Error(`${file}: '${earlier.source}' and '${source}' are both gbp's '${name}'`);
    byGbpName.set(name, { source, tensor });
  }
  if (unknown.length > 0) {
    throw new Error(`${file}: tensors that are not parameters of a BERT of this config.json: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ` (and ${unknown.length - 5} more)` : ''}`);
  }

  const weights = new Map<string, NamedTensor>();
  let freshClassifier = false;
  const classifierFits = ['classifier.weight', 'classifier.bias'].every((n) => {
    const found = byGbpName.get(n);
    return found !== undefined && sameShape(found.tensor.shape, hfShape(specs.get(n)!));
  });
  if (!classifierFits) {
    const found = byGbpName.get('classifier.weight');
    const seed = options.seed ?? 0;
    const why = found === undefined ? 'has no classifier' : `has a classifier of shape [${found.tensor.shape.join(', ')}], not [${config.num_labels}, ${config.d_model}]`;
    options.log?.(`${file} ${why}: created a fresh ${config.num_labels}-label classifier (seed ${seed}); it needs fine-tuning`);
    for (const [n, tensor] of freshClassifierWeights(config, seed)) {
      weights.set(n, tensor);
      byGbpName.delete(n);
    }
    freshClassifier = true;
  }

  const missing = [...specs.values()].filter((s) => !weights.has(s.name) && !byGbpName.has(s.name));
  if (missing.length > 0) {
    throw new Error(`${file}: missing ${missing.length} tensor(s) this config.json needs, e.g. ${missing.slice(0, 3).map((s) => `'${s.name}' [${hfShape(s).join(', ')}]`).join(', ')}`);
  }
  for (const [name, { source, tensor }] of byGbpName) {
    const spec = specs.get(name)!;
    if (tensor.dtype !== undefined && !isFloatDtype(tensor.dtype)) throw new Error(`${file}: tensor '${source}' has dtype ${tensor.dtype}; gbp reads F32, F16 and BF16 checkpoints only`);
    const expected = hfShape(spec);
    if (!sameShape(tensor.shape, expected)) {
      throw new Error(`${file}: tensor '${source}' has shape [${tensor.shape.join(', ')}], expected [${expected.join(', ')}] (from config.json)`);
    }
    weights.set(name, isLinear(spec) ? transpose(tensor, spec) : { shape: [...spec.shape], data: tensor.data });
  }
  return { weights, freshClassifier };
}

/** classifier.weight and classifier.bias for `config`, initialised as BERT does (seeded). */
export function freshClassifierWeights(config: ModelConfig, seed: number): Map<string, NamedTensor> {
  const rng = Rng.derive(seed, 'classifier');
  const out = new Map<string, NamedTensor>();
  for (const spec of parameterSpecs(config).filter((s) => s.name.startsWith('classifier.'))) {
    const data = tf.tidy(() => initialValue(spec, 'random', rng).dataSync() as Float32Array);
    out.set(spec.name, { shape: [...spec.shape], data: Float32Array.from(data) });
  }
  return out;
}

/** A linear layer's weight: [in, out] in gbp, [out, in] in PyTorch. Embedding tables are [rows, d] in both. */
export const isLinear = (spec: ParamSpec): boolean => spec.kind === 'weight';

/** The shape a parameter has in a PyTorch checkpoint. */
export const hfShape = (spec: ParamSpec): number[] => (isLinear(spec) ? [...spec.shape].reverse() : [...spec.shape]);

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((n, i) => n === b[i]);

/** A row-major [rows, cols] matrix as [cols, rows]: between PyTorch's [out, in] and gbp's [in, out], either way. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/** [out, in] PyTorch data as gbp's [in, out] (spec.shape). */
function transpose(tensor: NamedTensor, spec: ParamSpec): NamedTensor {
  const [rows, cols] = tensor.shape as [number, number];
  return { shape: [...spec.shape], data: transpose2d(tensor.data, rows, cols) };
}
