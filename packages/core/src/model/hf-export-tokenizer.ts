/**
 * The tokenizer files of a Hugging Face export: the model's vocab.txt and/or tokenizer.json, and a
 * tokenizer_config.json whose settings are the ones gbp tokenized with, so `AutoTokenizer` gives
 * the same ids.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseVocabTxt } from '../data/tokenizer.js';

interface TokenizerJson {
  model?: { vocab?: Record<string, unknown> };
  normalizer?: { type?: string; lowercase?: unknown } | null;
}

function readTokenizerJson(file: string): TokenizerJson {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as TokenizerJson;
  } catch (error) {
    throw new Error(`${file}: not a readable tokenizer.json (${(error as Error).message})`, { cause: error });
  }
}

/** The [PAD] token's id in the tokenizer's vocabulary; 0 (BERT's) when there is no tokenizer or no [PAD]. */
export function padTokenId(tokenizerPath: string | undefined): number {
  if (tokenizerPath === undefined) return 0;
  if (basename(tokenizerPath) !== 'tokenizer.json') return parseVocabTxt(readFileSync(tokenizerPath, 'utf8')).get('[PAD]') ?? 0;
  const id = readTokenizerJson(tokenizerPath).model?.vocab?.['[PAD]'];
  return typeof id === 'number' ? id : 0;
}

/**
 * The files to ship for `tokenizerPath` (vocab.txt or tokenizer.json; a vocab.txt beside a
 * tokenizer.json goes too, for the slow BertTokenizer) with tokenizer_config.json. `lowercase` is
 * what gbp used with a vocab.txt; a tokenizer.json's own BertNormalizer decides for itself (gbp
 * tokenizes with it, and BertTokenizerFast rebuilds the normalizer from do_lower_case when they differ).
 */
export function tokenizerFiles(tokenizerPath: string, lowercase: boolean, maxLen: number): Map<string, string | Uint8Array> {
  const files = new Map<string, string | Uint8Array>();
  const isJson = basename(tokenizerPath) === 'tokenizer.json';
  const vocabTxt = isJson ? join(dirname(tokenizerPath), 'vocab.txt') : tokenizerPath;
  if (existsSync(vocabTxt)) files.set('vocab.txt', readFileSync(vocabTxt));
  let doLowerCase: boolean | undefined = lowercase;
  if (isJson) {
    files.set('tokenizer.json', readFileSync(tokenizerPath));
    const normalizer = readTokenizerJson(tokenizerPath).normalizer;
    doLowerCase = normalizer?.type === 'BertNormalizer' && typeof normalizer.lowercase === 'boolean' ? normalizer.lowercase : undefined;
  }
  const config = {
    // Only a vocab.txt serves the slow class; a tokenizer.json alone loads as BertTokenizerFast.
    ...(files.has('vocab.txt') ? { tokenizer_class: 'BertTokenizer' } : {}),
    ...(doLowerCase !== undefined ? { do_lower_case: doLowerCase } : {}),
    // BERT strips accents exactly when it lowercases (strip_accents null), as gbp's tokenizer does.
    strip_accents: null,
    tokenize_chinese_chars: true,
    model_max_length: maxLen,
    unk_token: '[UNK]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    cls_token: '[CLS]',
    mask_token: '[MASK]',
  };
  files.set('tokenizer_config.json', `${JSON.stringify(config, null, 2)}\n`);
  return files;
}
