/**
 * A job that starts from a pretrained model (model.from): its config with the overrides the spec
 * may set (max_len, dropout_rate), its weights (with a fresh classifier when the task's label count
 * differs), and the tokenizer its embeddings were trained with.
 */
import type { JobSpec, TokenizerSpec } from '../spec.js';
import type { LogLevel } from '../events.js';
import { hubOfflineFromEnv } from '../data/hub.js';
import { loadModel, withOverrides, type LoadedModel } from '../model/source.js';
import type { ModelConfig } from '../model/config.js';
import type { NamedTensor } from '../model/safetensors.js';

export interface PretrainedStart {
  config: ModelConfig;
  weights: Map<string, NamedTensor>;
  /** The job's tokenizer: the model's own unless the spec names one. */
  tokenizer: TokenizerSpec;
  /** What `model.from` was resolved to, for logs. */
  source: Pick<LoadedModel, 'ref' | 'kind' | 'dir'>;
}

/** Loads spec.model.from (which must be set) for a task of `numLabels` outputs; errors name the reference. */
export async function loadPretrained(spec: JobSpec, numLabels: number, log: (level: LogLevel, message: string, source?: string) => void): Promise<PretrainedStart> {
  const ref = spec.model.from!;
  const loaded = await loadModel(ref, {
    numLabels,
    seed: spec.train.seed,
    log: (message) => log('info', message, 'model'),
    hub: { offline: spec.data.offline || hubOfflineFromEnv(), log: (message) => log('info', message, 'hub') },
  });
  const { config, weights } = withOverrides(loaded, {
    ...(spec.model.max_len !== undefined && { max_len: spec.model.max_len }),
    ...(spec.model.dropout_rate !== undefined && { dropout_rate: spec.model.dropout_rate }),
  });
  let tokenizer: TokenizerSpec;
  if (spec.tokenizer.path !== undefined) {
    log('warn', `tokenizer.path ${spec.tokenizer.path} is used instead of the tokenizer of ${ref}: its ids must mean what the embeddings learned`, 'model');
    tokenizer = spec.tokenizer;
  } else if (loaded.tokenizerPath !== undefined) {
    tokenizer = { path: loaded.tokenizerPath, lowercase: loaded.lowercase };
  } else {
    throw new Error(`model.from ${ref}: ${loaded.dir} has no vocab.txt or tokenizer.json; set tokenizer.path to the tokenizer the model was trained with`);
  }
  log('info', `model from ${ref} (${loaded.kind}: ${loaded.dir}), tokenizer ${tokenizer.path}${tokenizer.lowercase ? ' (lowercased)' : ''}`, 'model');
  return { config, weights, tokenizer, source: { ref, kind: loaded.kind, dir: loaded.dir } };
}
