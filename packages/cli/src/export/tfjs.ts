/**
 * `gbp export --format tfjs`: the model as @gbp/runtime reads it (model.json with config, labels,
 * tokenizer and a TF.js weightsManifest, plus weight shards), written whole as one folder. The
 * format itself (names, shapes, encoding) is @gbp/runtime's, so writer and reader cannot drift.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { checkExportTarget, TASKS, writeFolderAtomic, type LoadedModel, type TaskName } from '@gbp/core';
import { encodeExport, parseVocabTxt, type ExportDtype, type TokenizerSpec } from '@gbp/runtime';
import type { ExportSummary } from './formats.js';

/** BERT's LayerNorm ε, gbp's default when a config does not say (core's LAYER_NORM_EPS). */
const BERT_LAYER_NORM_EPS = 1e-12;

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number>; unk_token?: string; continuing_subword_prefix?: string; max_input_chars_per_word?: number };
  normalizer?: { type?: string; lowercase?: boolean; strip_accents?: boolean | null; clean_text?: boolean; handle_chinese_chars?: boolean } | null;
  pre_tokenizer?: { type?: string } | null;
}

/** The runtime's tokenizer from the model's vocab.txt or tokenizer.json; refuses what the runtime would tokenize differently. */
export function runtimeTokenizer(path: string, lowercase: boolean): TokenizerSpec {
  if (basename(path) !== 'tokenizer.json') return { vocab: parseVocabTxt(readFileSync(path, 'utf8')), lowercase };
  let json: TokenizerJson;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as TokenizerJson;
  } catch (error) {
    throw new Error(`${path}: not a readable tokenizer.json (${(error as Error).message})`, { cause: error });
  }
  const { model, normalizer, pre_tokenizer: pre } = json;
  if (model?.type !== 'WordPiece' || typeof model.vocab !== 'object') throw new Error(`${path}: model type ${model?.type ?? 'missing'}; the tfjs export needs a WordPiece (BERT) tokenizer`);
  if (normalizer?.type !== 'BertNormalizer' || normalizer.clean_text === false || normalizer.handle_chinese_chars === false) {
    throw new Error(`${path}: normalizer ${normalizer?.type ?? 'none'} with these options is not BERT's; @gbp/runtime implements BertNormalizer (clean_text and handle_chinese_chars on) only`);
  }
  if (pre?.type !== 'BertPreTokenizer') throw new Error(`${path}: pre_tokenizer ${pre?.type ?? 'none'} is not BertPreTokenizer, the one @gbp/runtime implements`);
  const vocab: string[] = [];
  for (const [token, id] of Object.entries(model.vocab)) vocab[id] = token;
  for (let id = 0; id < vocab.length; id++) vocab[id] ??= `[unused${id}]`;
  const lower = normalizer.lowercase ?? true;
  return {
    vocab,
    lowercase: lower,
    stripAccents: normalizer.strip_accents ?? lower,
    ...(model.unk_token !== undefined ? { unkToken: model.unk_token } : {}),
    ...(model.continuing_subword_prefix !== undefined ? { continuingSubwordPrefix: model.continuing_subword_prefix } : {}),
    ...(model.max_input_chars_per_word !== undefined ? { maxInputCharsPerWord: model.max_input_chars_per_word } : {}),
  };
}

/** The label names: the GLUE task's when the model knows its task and the count fits, else LABEL_i. */
function labelNames(model: LoadedModel): string[] {
  const task = model.task !== undefined ? TASKS[model.task as TaskName] : undefined;
  if (task !== undefined && task.labelNames.length === model.config.num_labels) return [...task.labelNames];
  return Array.from({ length: model.config.num_labels }, (_, i) => `LABEL_${i}`);
}

export async function exportTfjsFolder(dir: string, model: LoadedModel, options: { dtype: ExportDtype; force: boolean }): Promise<ExportSummary> {
  checkExportTarget(dir, { force: options.force, sourceDir: model.dir });
  if (model.tokenizerPath === undefined) {
    throw new Error(`${model.dir}: the model has no vocab.txt or tokenizer.json; the tfjs export ships the tokenizer the runtime needs (add the one it was trained with)`);
  }
  const c = model.config;
  const { files } = encodeExport(
    {
      config: {
        num_layers: c.num_layers,
        d_model: c.d_model,
        num_heads: c.num_heads,
        dff: c.dff,
        vocab_size: c.vocab_size,
        max_len: c.max_len,
        type_vocab_size: c.type_vocab_size,
        num_labels: c.num_labels,
        ...(c.heads_per_layer ? { heads_per_layer: [...c.heads_per_layer] } : {}),
        ...(c.dff_per_layer ? { dff_per_layer: [...c.dff_per_layer] } : {}),
        layer_norm_eps: c.layer_norm_eps ?? BERT_LAYER_NORM_EPS,
      },
      weights: model.weights,
      labels: labelNames(model),
      ...(model.task !== undefined ? { task: model.task } : {}),
      tokenizer: runtimeTokenizer(model.tokenizerPath, model.lowercase),
    },
    options.dtype,
  );
  await writeFolderAtomic(dir, files);
  const params = [...model.weights.values()].reduce((n, t) => n + t.data.length, 0);
  return { files: [...files.keys()], notes: [], params, extraParams: 0 };
}
