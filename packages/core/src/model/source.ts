/**
 * Where a model comes from, in one place: what `model.from`, `gbp info --from`, `gbp infer --model`
 * and `gbp export` take. A reference is a gbp model folder (config.json format gbp-model), a job
 * folder (its finished `model/`), a Hugging Face checkpoint folder (BERT config.json with
 * model.safetensors or pytorch_model.bin), or a Hub id `org/name[@revision]` (downloaded into the
 * Hugging Face cache). Local paths win over Hub ids: `./x` or an existing folder is never fetched.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parameterSpecs, type ModelConfig } from './config.js';
import type { CompactionReport } from './compaction-report.js';
import { isModelFolder, readModelFolder, MODEL_FILES } from './folder.js';
import { freshClassifierWeights, importHfFolder } from './hf-import.js';
import { readHfConfig } from './hf-config.js';
import { downloadHubModel, parseHubRef, type HubModelOptions } from './hub-model.js';
import type { NamedTensor } from './safetensors.js';
import { ModelLoadError } from './load-error.js';

export { ModelLoadError };

/** Runs `load`, turning its errors into ModelLoadErrors (an AbortError stays one). */
async function asLoadError<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof ModelLoadError || (error instanceof Error && error.name === 'AbortError')) throw error;
    throw new ModelLoadError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

export type ModelSourceKind = 'gbp-model' | 'job' | 'hf-folder' | 'hub';

/** A model reference resolved to a folder on disk, nothing read yet but what identifies it. */
export interface LocatedModel {
  kind: ModelSourceKind;
  /** The reference as given. */
  ref: string;
  /** The folder the model's files are in (a job's `model/`, a Hub snapshot). */
  dir: string;
  /** 'gbp' for a gbp model folder, 'hf' for a Hugging Face checkpoint folder. */
  format: 'gbp' | 'hf';
}

export interface LoadedModel extends LocatedModel {
  config: ModelConfig;
  /** Every parameter of parameterSpecs(config), by gbp name, gbp layout ([in, out]). */
  weights: Map<string, NamedTensor>;
  /** vocab.txt or tokenizer.json of the folder: the tokenizer the weights were trained with; undefined when it has none. */
  tokenizerPath?: string;
  /** Whether the tokenizer lowercases (tokenizer_config.json's do_lower_case, a gbp folder's lowercase; default true). */
  lowercase: boolean;
  /** A gbp model folder's task. */
  task?: string;
  /** The classifier was created here (none in the checkpoint, or one of another label count). */
  freshClassifier: boolean;
  compaction?: CompactionReport;
}

export interface LoadModelOptions {
  /** Outputs of the task head: a checkpoint whose classifier has another size gets a fresh one (logged). Default: the checkpoint's own. */
  numLabels?: number;
  /** Seed of a fresh classifier; default 0. */
  seed?: number;
  log?: (message: string) => void;
  hub?: HubModelOptions;
}

const isDir = (path: string) => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** What a job leaves from its start: events, checkpoints, a results CSV or its metadata. */
const isJobFolder = (dir: string): boolean =>
  existsSync(join(dir, 'events.ndjson')) || existsSync(join(dir, 'checkpoints')) || readdirSync(dir).some((name) => /^(results|metadata)_.+\.(csv|json)$/.test(name));

/** A path the user meant as local (relative or absolute), never a Hub id. */
const looksLikePath = (ref: string) => /^(\.{1,2}|~)?[/\\]/.test(ref) || ref.startsWith('.') || /^[A-Za-z]:[/\\]/.test(ref);

/**
 * `ref` with a local path made absolute against `baseDir` (a pipeline file's folder); a Hub id is
 * returned as it is. A path is what starts with `/`, `.` or `~`, or what exists under `baseDir`.
 */
export function absoluteModelRef(ref: string, baseDir: string): string {
  if (isAbsolute(ref)) return ref;
  const candidate = resolve(baseDir, ref);
  return looksLikePath(ref) || existsSync(candidate) || parseHubRef(ref) === undefined ? candidate : ref;
}

/** Finds the folder `ref` names (downloading a Hub id); errors say what `ref` was taken for and what was expected. */
export function locateModel(ref: string, options: Pick<LoadModelOptions, 'hub' | 'log'> = {}): Promise<LocatedModel> {
  return asLoadError(() => locate(ref, options));
}

async function locate(ref: string, options: Pick<LoadModelOptions, 'hub' | 'log'>): Promise<LocatedModel> {
  const local = resolve(ref);
  if (isDir(local)) {
    if (isModelFolder(local)) return { kind: 'gbp-model', ref, dir: local, format: 'gbp' };
    const jobModel = join(local, 'model');
    if (isModelFolder(jobModel)) return { kind: 'job', ref, dir: jobModel, format: 'gbp' };
    if (existsSync(join(local, 'config.json'))) return { kind: 'hf-folder', ref, dir: local, format: 'hf' };
    if (isJobFolder(local)) {
      throw new Error(`${ref}: a job folder without model/ (the job has not finished; a finished job writes its model there)`);
    }
    throw new Error(
      `${ref}: not a model folder (expected a gbp model/ folder, a job folder with model/, or a Hugging Face folder with config.json and model.safetensors or pytorch_model.bin)`,
    );
  }
  if (existsSync(local)) throw new Error(`${ref}: a file, not a model folder`);
  const hubRef = looksLikePath(ref) ? undefined : parseHubRef(ref);
  if (hubRef === undefined) throw new Error(`${ref}: no such folder (and not a Hugging Face Hub id such as org/name or org/name@revision)`);
  // The download's progress goes where the caller's log goes, unless the hub options have their own.
  const log = options.hub?.log ?? options.log;
  const dir = await downloadHubModel(hubRef, { ...options.hub, ...(log ? { log } : {}) });
  return { kind: 'hub', ref, dir, format: 'hf' };
}

/** Locates `ref` and reads its config and weights, with a fresh classifier when `numLabels` asks for another size. */
export function loadModel(ref: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  return asLoadError(() => load(ref, options));
}

async function load(ref: string, options: LoadModelOptions): Promise<LoadedModel> {
  const located = await locate(ref, options);
  if (located.format === 'hf') {
    const imported = await importHfFolder(located.dir, { ...(options.numLabels !== undefined ? { numLabels: options.numLabels } : {}), seed: options.seed ?? 0, ...(options.log ? { log: options.log } : {}) });
    return {
      ...located,
      config: imported.config,
      weights: imported.weights,
      ...tokenizerOf(located.dir),
      freshClassifier: imported.freshClassifier,
    };
  }
  const contents = await readModelFolder(located.dir);
  let config = contents.config;
  const weights = new Map(contents.weights);
  let freshClassifier = false;
  if (options.numLabels !== undefined && options.numLabels !== config.num_labels) {
    const seed = options.seed ?? 0;
    options.log?.(`${located.dir} has a ${config.num_labels}-label classifier (task ${contents.task}): created a fresh ${options.numLabels}-label classifier (seed ${seed}); it needs fine-tuning`);
    config = { ...config, num_labels: options.numLabels };
    for (const [name, tensor] of freshClassifierWeights(config, seed)) weights.set(name, tensor);
    freshClassifier = true;
  }
  const vocab = join(located.dir, MODEL_FILES.vocab);
  return {
    ...located,
    config,
    weights,
    ...(existsSync(vocab) ? { tokenizerPath: vocab } : {}),
    lowercase: contents.lowercase ?? true,
    ...(freshClassifier ? {} : { task: contents.task }),
    freshClassifier,
    ...(contents.compaction ? { compaction: contents.compaction } : {}),
  };
}

/** The config alone (no weights read): for `gbp info --from`. */
export function readModelConfig(ref: string, options: Pick<LoadModelOptions, 'hub' | 'numLabels' | 'log'> = {}): Promise<LocatedModel & { config: ModelConfig }> {
  return asLoadError(() => readConfig(ref, options));
}

async function readConfig(ref: string, options: Pick<LoadModelOptions, 'hub' | 'numLabels' | 'log'>): Promise<LocatedModel & { config: ModelConfig }> {
  const located = await locate(ref, options);
  if (located.format === 'hf') {
    const { config } = await readHfConfig(join(located.dir, 'config.json'), {
      ...(options.numLabels !== undefined ? { numLabels: options.numLabels } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    return { ...located, config };
  }
  const { config } = await readModelFolder(located.dir);
  return { ...located, config: options.numLabels !== undefined ? { ...config, num_labels: options.numLabels } : config };
}

/** A Hugging Face folder's tokenizer: tokenizer.json (its own normaliser) else vocab.txt with tokenizer_config.json's do_lower_case. */
function tokenizerOf(dir: string): { tokenizerPath?: string; lowercase: boolean } {
  let lowercase = true;
  const configFile = join(dir, 'tokenizer_config.json');
  if (existsSync(configFile)) {
    try {
      const raw = JSON.parse(readFileSync(configFile, 'utf8')) as { do_lower_case?: unknown };
      if (typeof raw.do_lower_case === 'boolean') lowercase = raw.do_lower_case;
    } catch (error) {
      throw new Error(`${configFile}: not valid JSON (${(error as Error).message})`, { cause: error });
    }
  }
  for (const name of ['tokenizer.json', 'vocab.txt']) {
    if (existsSync(join(dir, name))) return { tokenizerPath: join(dir, name), lowercase };
  }
  return { lowercase };
}

/**
 * `loaded` with a shorter position table (max_len below the checkpoint's) and another dropout rate:
 * the overrides `model.from` allows. A longer max_len than the checkpoint has is refused.
 */
export function withOverrides(loaded: Pick<LoadedModel, 'config' | 'weights' | 'ref'>, overrides: { max_len?: number; dropout_rate?: number }): { config: ModelConfig; weights: Map<string, NamedTensor> } {
  const { config } = loaded;
  const weights = new Map(loaded.weights);
  let maxLen = config.max_len;
  if (overrides.max_len !== undefined && overrides.max_len !== config.max_len) {
    if (overrides.max_len > config.max_len) {
      throw new Error(`model.max_len ${overrides.max_len} is longer than ${loaded.ref} allows (${config.max_len} positions)`);
    }
    maxLen = overrides.max_len;
    const name = 'embeddings.position_embeddings.weight';
    const table = weights.get(name)!;
    weights.set(name, { shape: [maxLen, config.d_model], data: table.data.slice(0, maxLen * config.d_model) });
  }
  const next: ModelConfig = { ...config, max_len: maxLen, ...(overrides.dropout_rate !== undefined ? { dropout_rate: overrides.dropout_rate } : {}) };
  // The position table's shape is part of the parameter list: check that they still agree.
  const spec = parameterSpecs(next).find((s) => s.name === 'embeddings.position_embeddings.weight')!;
  if (weights.get(spec.name)!.shape[0] !== spec.shape[0]) throw new Error(`internal: position table of ${loaded.ref} does not match max_len ${maxLen}`);
  return { config: next, weights };
}
