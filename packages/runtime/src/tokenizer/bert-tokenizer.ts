/**
 * A BERT WordPiece tokenizer in plain TypeScript: normalise, pre-tokenise, WordPiece, then
 * [CLS] a [SEP] (b [SEP]) truncated longest-first, the ids gbp's own tokenizer gives.
 */
import { bertNormalize, bertPreTokenize } from './normalize.js';
import { wordPieceIds, type WordPieceVocab } from './wordpiece.js';

/** What a tokenizer is built from (an exported model.json's `tokenizer`). */
export interface TokenizerSpec {
  /** Token of id i at index i (vocab.txt's lines). */
  vocab: readonly string[];
  lowercase: boolean;
  /** Default: the same as lowercase (BERT's strip_accents: null). */
  stripAccents?: boolean;
  unkToken?: string;
  continuingSubwordPrefix?: string;
  maxInputCharsPerWord?: number;
}

/** One input: a text, or a pair of texts (e.g. premise and hypothesis). */
export type TextInput = string | readonly [string, string];

/** Token ids of one input and their segment (token type) ids. */
export interface Encoding {
  ids: Int32Array;
  typeIds: Int32Array;
}

/** Lengths the two segments keep within `budget` tokens: HF tokenizers' LongestFirst (core's data/tokenizer.ts has the same, see wordpiece.ts for why twice). */
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

export class BertTokenizer {
  readonly padId: number;
  readonly clsId: number;
  readonly sepId: number;
  private readonly vocab: WordPieceVocab;
  private readonly normalize: { lowercase: boolean; stripAccents: boolean };

  /** `source` names the vocabulary in errors (a file or URL). */
  constructor(spec: TokenizerSpec, source = 'tokenizer') {
    const ids = new Map<string, number>();
    // a later duplicate wins, as in HF's vocab.txt reader
    spec.vocab.forEach((token, id) => ids.set(token, id));
    const special = (token: string) => {
      const id = ids.get(token);
      if (id === undefined) throw new Error(`${source}: the vocabulary has no ${token} token (a BERT vocabulary needs [PAD], [UNK], [CLS] and [SEP])`);
      return id;
    };
    this.padId = special('[PAD]');
    this.clsId = special('[CLS]');
    this.sepId = special('[SEP]');
    this.vocab = {
      ids,
      unkId: special(spec.unkToken ?? '[UNK]'),
      prefix: spec.continuingSubwordPrefix ?? '##',
      maxInputCharsPerWord: spec.maxInputCharsPerWord ?? 100,
    };
    this.normalize = { lowercase: spec.lowercase, stripAccents: spec.stripAccents ?? spec.lowercase };
  }

  /** Word-piece ids of one text, without special tokens. */
  tokenize(text: string): number[] {
    const out: number[] = [];
    for (const word of bertPreTokenize(bertNormalize(text, this.normalize))) wordPieceIds(word, this.vocab, out);
    return out;
  }

  /** [CLS] a [SEP] (b [SEP]), at most maxLen tokens (the longer segment is cut first). */
  encode(input: TextInput, maxLen: number): Encoding {
    const segments = typeof input === 'string' ? [input] : [...input];
    if (segments.length !== 1 && segments.length !== 2) throw new Error(`tokenizer: an input is a text or a pair of texts, got ${segments.length} texts`);
    const notText = segments.find((t) => typeof t !== 'string');
    if (notText !== undefined) throw new Error(`tokenizer: an input is a text or a pair of texts, got ${JSON.stringify(notText)} (${typeof notText})`);
    const budget = maxLen - segments.length - 1;
    if (!Number.isInteger(maxLen) || budget < 0) throw new Error(`tokenizer: maxLen ${maxLen} leaves no room for [CLS] and [SEP] (need at least ${segments.length + 1})`);
    const a = this.tokenize(segments[0]!);
    const b = segments.length === 2 ? this.tokenize(segments[1]!) : undefined;
    const [keepA, keepB] = b ? longestFirstLengths(a.length, b.length, budget) : [Math.min(a.length, budget), 0];
    const length = keepA + 2 + (b ? keepB + 1 : 0);
    const ids = new Int32Array(length);
    const typeIds = new Int32Array(length);
    ids[0] = this.clsId;
    ids.set(a.slice(0, keepA), 1);
    ids[keepA + 1] = this.sepId;
    if (b) {
      const offset = keepA + 2;
      ids.set(b.slice(0, keepB), offset);
      ids[length - 1] = this.sepId;
      typeIds.fill(1, offset);
    }
    return { ids, typeIds };
  }
}

/** vocab.txt's tokens: one per line, id = line number (trailing whitespace dropped, as HF does). */
export function parseVocabTxt(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line) => line.replace(/\s+$/, ''));
}
