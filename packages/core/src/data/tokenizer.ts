/**
 * BERT-style WordPiece tokenisation on the npm `tokenizers` binding (HF tokenizers in Rust):
 * its BertNormalizer and BertPreTokenizer, its WordPiece model for batch encoding. Special tokens
 * and truncation are applied here ([CLS] a [SEP] b [SEP], longest-first as HF's LongestFirst),
 * because the binding keeps truncation as mutable tokenizer-wide state, which concurrent calls
 * with different maxLen would race on. See wordpiece.ts for the parts written in TypeScript.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type * as Tokenizers from 'tokenizers';
import { throwIfAborted, yieldAndCheckAbort } from '../abort.js';
import type { TokenizerSpec } from '../spec.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { DataError } from './errors.js';
import {
  CONTINUING_PREFIX,
  MAX_INPUT_CHARS_PER_WORD,
  trainWordPieceVocab,
  wordPieceIds,
  type WordPieceModel,
} from './wordpiece.js';

// `tokenizers` is a CommonJS napi module: load it lazily, so importing @gbp/core stays cheap
let binding: typeof Tokenizers | undefined;
function tokenizers(): typeof Tokenizers {
  try {
    return (binding ??= createRequire(import.meta.url)('tokenizers') as typeof Tokenizers);
  } catch (error) {
    throw new DataError(
      `the 'tokenizers' package has no usable native binary for ${process.platform}-${process.arch} (${(error as Error).message})`,
      { cause: error },
    );
  }
}

/** Special tokens of a trained vocabulary, ids 0..4 (as HF's BertWordPieceTokenizer trains them). */
export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** Token ids of one input: [CLS] a [SEP] or [CLS] a [SEP] b [SEP], with segment ids 0 / 1. */
export interface EncodedInput {
  ids: Int32Array;
  typeIds: Int32Array;
}

export interface GbpTokenizer {
  vocabSize: number;
  padId: number;
  clsId: number;
  sepId: number;
  /** [CLS] a [SEP] (b [SEP]), truncated to maxLen tokens in all (longest segment first). */
  encode(texts: readonly string[], maxLen: number): EncodedInput;
  /** encode() for many inputs at once, tokenised in parallel by the native binding; an abort stops it between chunks. */
  encodeBatch(items: readonly (readonly string[])[], maxLen: number, options?: { signal?: AbortSignal }): Promise<EncodedInput[]>;
  /** The vocabulary as vocab.txt text: token of id i on line i (what a model folder ships). */
  vocabText(): string;
}

export interface LoadTokenizerOptions {
  /** Size of a trained vocabulary (special tokens included); unused when spec.path is set. */
  vocabSize: number;
  /** The training texts: hashed to find a cached vocabulary, trained on when there is none. */
  trainTexts: () => Iterable<string>;
  cacheDir: string;
  /** A readable name for the cache folder (e.g. the task); what identifies the vocabulary is the texts' hash. */
  cacheLabel: string;
  onProgress?: (msg: string) => void;
  /** Hashing and training stop with an AbortError within a few thousand texts of an abort. */
  signal?: AbortSignal;
}

/** Lengths the two segments keep within `budget` tokens: HF tokenizers' LongestFirst. */
export function longestFirstLengths(a: number, b: number, budget: number): [number, number] {
  const swap = a > b;
  let short = swap ? b : a;
  let long = short > budget ? short : Math.max(short, budget - short);
  if (short + long > budget) {
    short = Math.floor(budget / 2);
    long = short + (budget % 2);
  }
  return swap ? [Math.min(a, long), Math.min(b, short)] : [Math.min(a, short), Math.min(b, long)];
}

/** A BERT WordPiece tokenizer: one normaliser + pre-tokeniser + vocabulary, two encoders that agree. */
export class WordPieceTokenizer implements GbpTokenizer {
  readonly vocabSize: number;
  readonly padId: number;
  readonly clsId: number;
  readonly sepId: number;
  private readonly native: Tokenizers.Tokenizer;

  constructor(
    private readonly model: WordPieceModel,
    private readonly normalizer: Tokenizers.Normalizer | null,
    private readonly preTokenizer: Tokenizers.PreTokenizer | null,
    /** Where the vocabulary came from (a path), for logs and metadata. */
    readonly source: string,
  ) {
    const special = (token: string) => {
      const id = model.vocab.get(token);
      if (id === undefined) {
        throw new DataError(`${source}: the vocabulary has no ${token} token; gbp needs a BERT vocabulary with [PAD], [UNK], [CLS] and [SEP]`);
      }
      return id;
    };
    this.padId = special('[PAD]');
    this.clsId = special('[CLS]');
    this.sepId = special('[SEP]');
    let maxId = -1;
    for (const id of model.vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    const t = tokenizers();
    const unkToken = [...model.vocab].find(([, id]) => id === model.unkId)![0];
    this.native = new t.Tokenizer(
      t.WordPiece.init(Object.fromEntries(model.vocab), {
        unkToken,
        continuingSubwordPrefix: model.prefix,
        maxInputCharsPerWord: model.maxInputCharsPerWord,
      }),
    );
    if (normalizer) this.native.setNormalizer(normalizer);
    if (preTokenizer) this.native.setPreTokenizer(preTokenizer);
  }

  vocabText(): string {
    const tokens = new Array<string>(this.vocabSize);
    for (const [token, id] of this.model.vocab) tokens[id] = token;
    // A tokenizer.json may leave ids unused; a placeholder keeps every later token on its id's line.
    for (let id = 0; id < tokens.length; id++) tokens[id] ??= `[unused${id}]`;
    return `${tokens.join('\n')}\n`;
  }

  /** Word-piece ids of one text segment, without special tokens. */
  tokenize(text: string): number[] {
    const normalized = this.normalizer ? this.normalizer.normalizeString(text) : text;
    const out: number[] = [];
    if (!this.preTokenizer) wordPieceIds(normalized, this.model, out);
    else for (const [word] of this.preTokenizer.preTokenizeString(normalized)) wordPieceIds(word, this.model, out);
    return out;
  }

  encode(texts: readonly string[], maxLen: number): EncodedInput {
    checkSegments(texts);
    return this.assemble(texts.map((t) => this.tokenize(t)), maxLen);
  }

  async encodeBatch(items: readonly (readonly string[])[], maxLen: number, options: { signal?: AbortSignal } = {}): Promise<EncodedInput[]> {
    const flat: string[] = [];
    for (const texts of items) {
      checkSegments(texts);
      flat.push(...texts);
    }
    const pieces: number[][] = [];
    const CHUNK = 8192; // bounds the native call's memory; rayon parallelises inside each call
    for (let start = 0; start < flat.length; start += CHUNK) {
      throwIfAborted(options.signal, ENCODE_ABORTED);
      const encodings = await this.native.encodeBatch(flat.slice(start, start + CHUNK), { addSpecialTokens: false });
      for (const encoding of encodings) pieces.push(encoding.getIds());
    }
    let next = 0;
    return items.map((texts) => this.assemble(pieces.slice(next, (next += texts.length)), maxLen));
  }

  private assemble(segments: number[][], maxLen: number): EncodedInput {
    const budget = maxLen - segments.length - 1;
    if (!Number.isInteger(maxLen) || budget < 0) {
      throw new DataError(`tokenizer: maxLen ${maxLen} leaves no room for [CLS] and [SEP] (need at least ${segments.length + 1})`);
    }
    const a = segments[0]!, b = segments[1];
    const [keepA, keepB] = b ? longestFirstLengths(a.length, b.length, budget) : [Math.min(a.length, budget), 0];
    const length = keepA + 2 + (b ? keepB + 1 : 0);
    const ids = new Int32Array(length);
    const typeIds = new Int32Array(length);
    ids[0] = this.clsId;
    for (let i = 0; i < keepA; i++) ids[1 + i] = a[i]!;
    ids[keepA + 1] = this.sepId;
    if (b) {
      const offset = keepA + 2;
      for (let i = 0; i < keepB; i++) ids[offset + i] = b[i]!;
      ids[length - 1] = this.sepId;
      typeIds.fill(1, offset);
    }
    return { ids, typeIds };
  }
}

function checkSegments(texts: readonly string[]): void {
  if (texts.length !== 1 && texts.length !== 2) {
    throw new DataError(`tokenizer: expected 1 or 2 text segments, got ${texts.length}`);
  }
}

/** bert-base-uncased's normalisation (accents are stripped exactly when lowercasing, as BERT does). */
function bertPipeline(lowercase: boolean) {
  const t = tokenizers();
  return {
    normalizer: t.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: lowercase, lowercase }),
    preTokenizer: t.bertPreTokenizer(),
  };
}

/** Tokens of a vocab.txt, one per line, id = line number (a later duplicate wins, as in HF). */
export function parseVocabTxt(text: string): Map<string, number> {
  const vocab = new Map<string, number>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, id) => vocab.set(line.replace(/\s+$/, ''), id));
  return vocab;
}

function bertModel(vocab: Map<string, number>, source: string, unkToken = '[UNK]', prefix = CONTINUING_PREFIX, maxChars = MAX_INPUT_CHARS_PER_WORD): WordPieceModel {
  const unkId = vocab.get(unkToken);
  if (unkId === undefined) throw new DataError(`${source}: the vocabulary has no unknown token ${unkToken}`);
  return { vocab, unkId, prefix, maxInputCharsPerWord: maxChars };
}

async function fromVocabTxt(path: string, lowercase: boolean): Promise<WordPieceTokenizer> {
  const vocab = parseVocabTxt(await readFile(path, 'utf8'));
  const { normalizer, preTokenizer } = bertPipeline(lowercase);
  return new WordPieceTokenizer(bertModel(vocab, path), normalizer, preTokenizer, path);
}

/** A tokenizer.json with a WordPiece model; its own normaliser and pre-tokeniser are used. */
async function fromTokenizerJson(path: string): Promise<WordPieceTokenizer> {
  let json: { model?: { type?: string; vocab?: Record<string, number>; unk_token?: string; continuing_subword_prefix?: string; max_input_chars_per_word?: number } };
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new DataError(`${path}: not a readable tokenizer.json (${(error as Error).message})`, { cause: error });
  }
  const model = json.model;
  if (model?.type !== 'WordPiece' || typeof model.vocab !== 'object') {
    throw new DataError(`${path}: model type ${model?.type ?? 'missing'}; gbp needs a WordPiece (BERT-style) tokenizer.json`);
  }
  // the binding parses the normaliser and pre-tokeniser; added tokens are left out on purpose so
  // the synchronous and the batch encoder treat text like "[SEP]" the same way (as plain text)
  const loaded = tokenizers().Tokenizer.fromFile(path);
  return new WordPieceTokenizer(
    bertModel(new Map(Object.entries(model.vocab)), path, model.unk_token, model.continuing_subword_prefix, model.max_input_chars_per_word),
    loaded.getNormalizer(),
    loaded.getPreTokenizer(),
    path,
  );
}

const isFile = (path: string) => stat(path).then((s) => s.isFile(), () => false);

async function fromPath(path: string, lowercase: boolean): Promise<WordPieceTokenizer> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) {
    for (const name of ['tokenizer.json', 'vocab.txt']) {
      if (await isFile(join(path, name))) return fromPath(join(path, name), lowercase);
    }
    throw new DataError(`tokenizer.path ${path}: the folder has neither tokenizer.json nor vocab.txt`);
  }
  if (!info) throw new DataError(`tokenizer.path ${path}: no such file (expected a vocab.txt, a tokenizer.json or a folder with one)`);
  return path.endsWith('.json') ? fromTokenizerJson(path) : fromVocabTxt(path, lowercase);
}

/** A model's own tokenizer: a vocab.txt, a tokenizer.json or a folder holding one (what loadTokenizer does with tokenizer.path). */
export function tokenizerFromFile(path: string, lowercase = true): Promise<GbpTokenizer> {
  return fromPath(path, lowercase);
}

/** Bumped whenever trainWordPieceVocab's output changes, so a new trainer never reuses old files. */
const TRAINER_VERSION = 'v1';

const TRAIN_ABORTED = 'the job was aborted while preparing the tokenizer';
const ENCODE_ABORTED = 'the job was aborted while encoding the data';
/** Texts between two abort checks: hashing is ~100x cheaper per text than pre-tokenising. */
const HASH_CHECK_EVERY = 16_384;
const COUNT_CHECK_EVERY = 1024;

/**
 * sha256 (hex) of the training texts in order, each prefixed by its length so that the split
 * between texts counts too: the identity of a trained vocabulary, whatever the data set is called.
 */
export async function hashTrainingTexts(texts: Iterable<string>, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  let n = 0;
  for (const text of texts) {
    hash.update(`${text.length}:`).update(text);
    if (++n % HASH_CHECK_EVERY === 0) await yieldAndCheckAbort(signal, TRAIN_ABORTED);
  }
  return hash.digest('hex');
}

/** Where a trained vocabulary is cached: keyed by the texts' hash, the size, the casing and the trainer's version. */
export function trainedVocabPath(cacheDir: string, label: string, textsHash: string, vocabSize: number, lowercase: boolean): string {
  const name = label.replace(/[^A-Za-z0-9._-]+/g, '_');
  // 64 bits of the hash keep the folder name short; a collision needs ~2^32 different data sets
  return join(cacheDir, 'tokenizers', `${name}-${textsHash.slice(0, 16)}-wordpiece${vocabSize}-${lowercase ? 'uncased' : 'cased'}-${TRAINER_VERSION}`, 'vocab.txt');
}

/**
 * The job's tokenizer: spec.path (a vocab.txt, a tokenizer.json or a folder holding one) when set;
 * else a WordPiece vocabulary of opts.vocabSize trained on opts.trainTexts() and cached under
 * opts.cacheDir, keyed by the texts' content hash and the size, so later jobs on the same texts
 * reuse it (and no other data set of the same size does). Training is deterministic, so two jobs
 * training at once write identical files.
 */
export async function loadTokenizer(spec: TokenizerSpec, opts: LoadTokenizerOptions): Promise<GbpTokenizer> {
  const lowercase = spec.lowercase ?? true;
  if (spec.path) return fromPath(spec.path, lowercase);
  throwIfAborted(opts.signal, TRAIN_ABORTED);
  const path = trainedVocabPath(opts.cacheDir, opts.cacheLabel, await hashTrainingTexts(opts.trainTexts(), opts.signal), opts.vocabSize, lowercase);
  if (await isFile(path)) {
    opts.onProgress?.(`using the cached vocabulary ${path}`);
  } else {
    const started = performance.now();
    const { normalizer, preTokenizer } = bertPipeline(lowercase);
    const counts = new Map<string, number>();
    let n = 0;
    for (const text of opts.trainTexts()) {
      for (const [word] of preTokenizer.preTokenizeString(normalizer.normalizeString(text))) {
        counts.set(word, (counts.get(word) ?? 0) + 1);
      }
      // pre-tokenising is synchronous native work (~70 µs a text): let an abort through regularly
      if (++n % COUNT_CHECK_EVERY === 0) await yieldAndCheckAbort(opts.signal, TRAIN_ABORTED);
    }
    if (counts.size === 0) throw new DataError(`tokenizer: no training text to learn a vocabulary from (${opts.cacheLabel})`);
    const tokens = trainWordPieceVocab(counts, opts.vocabSize, SPECIAL_TOKENS);
    await writeFileAtomic(path, `${tokens.join('\n')}\n`);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    opts.onProgress?.(`trained a WordPiece vocabulary of ${tokens.length} tokens on ${counts.size} distinct words in ${seconds} s -> ${path}`);
  }
  return fromVocabTxt(path, lowercase);
}
