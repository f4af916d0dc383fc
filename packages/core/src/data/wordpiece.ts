/**
 * The WordPiece pieces written in TypeScript, and why:
 *
 * - `wordPieceIds`: greedy longest-match-first, as BERT and HF tokenizers do. The npm `tokenizers`
 *   binding only encodes asynchronously, and GbpTokenizer.encode is synchronous; its normaliser and
 *   pre-tokeniser do have synchronous calls, so only this last step is ours. Tests check it
 *   against the binding's own encoding.
 * - `trainWordPieceVocab`: the binding's `Tokenizer.train(files)` always uses the default trainer
 *   (vocabulary size 30000, no special tokens; no other trainer can be passed from JS), and its
 *   result changes from run to run: ties between equally frequent pairs are broken in hash-map
 *   order. A vocabulary that depends on the process would make runs irreproducible and let two
 *   jobs that train at once (one cache) end up with different vocabularies. This trainer is the
 *   same algorithm (BPE merges over words with a '##' continuation prefix, as HF's
 *   WordPieceTrainer) with ties broken by token id, so it is deterministic.
 */
import { DataError } from './errors.js';

export const CONTINUING_PREFIX = '##';
export const MAX_INPUT_CHARS_PER_WORD = 100;

export interface WordPieceModel {
  vocab: ReadonlyMap<string, number>;
  unkId: number;
  prefix: string;
  maxInputCharsPerWord: number;
}

/** Appends the ids of one pre-tokenised word to `out`: the whole word is [UNK] if any part is unknown. */
export function wordPieceIds(word: string, model: WordPieceModel, out: number[]): void {
  // code-point boundaries, so a piece never splits a surrogate pair
  const bounds: number[] = [0];
  for (let i = 0; i < word.length; ) {
    i += word.codePointAt(i)! > 0xffff ? 2 : 1;
    bounds.push(i);
  }
  const chars = bounds.length - 1;
  if (chars > model.maxInputCharsPerWord) {
    out.push(model.unkId);
    return;
  }
  const start = out.length;
  for (let from = 0; from < chars; ) {
    let to = chars;
    let id: number | undefined;
    for (; to > from; to--) {
      const piece = word.slice(bounds[from], bounds[to]);
      id = model.vocab.get(from > 0 ? model.prefix + piece : piece);
      if (id !== undefined) break;
    }
    if (id === undefined) {
      out.length = start;
      out.push(model.unkId);
      return;
    }
    out.push(id);
    from = to;
  }
}

/** A max-heap of (count, pair key): higher count first, then the smaller key (older tokens). */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  private before(i: number, j: number): boolean {
    const ci = this.counts[i]!, cj = this.counts[j]!;
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.keys.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } {
    const top = { count: this.counts[0]!, key: this.keys[0]! };
    const last = this.keys.length - 1;
    this.swap(0, last);
    this.counts.pop();
    this.keys.pop();
    for (let i = 0; ; ) {
      const l = 2 * i + 1, r = l + 1;
      let best = i;
      if (l < last && this.before(l, best)) best = l;
      if (r < last && this.before(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
    return top;
  }
}

const byCodePoint = (a: string, b: string) => a.codePointAt(0)! - b.codePointAt(0)!;

/**
 * Trains a WordPiece vocabulary of at most `vocabSize` tokens from word counts (words already
 * normalised and pre-tokenised). Order: the special tokens, every character seen (sorted by code
 * point), each of them again with the '##' prefix (so any seen character can continue a word),
 * then merged pieces, most frequent pair first. Stops early when no pair is left to merge.
 */
export function trainWordPieceVocab(
  wordCounts: ReadonlyMap<string, number>,
  vocabSize: number,
  specialTokens: readonly string[],
  prefix = CONTINUING_PREFIX,
): string[] {
  const SHIFT = 2 ** 21; // pair key = left * SHIFT + right: exact in a double for ids < 2^21
  if (vocabSize >= SHIFT) throw new DataError(`WordPiece training: vocab_size ${vocabSize} is too large (max ${SHIFT - 1})`);
  const tokens: string[] = [];
  const ids = new Map<string, number>();
  const add = (token: string): number => {
    let id = ids.get(token);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(token);
      ids.set(token, id);
    }
    return id;
  };
  specialTokens.forEach(add);

  const alphabet = new Set<string>();
  for (const word of wordCounts.keys()) for (const ch of word) alphabet.add(ch);
  const chars = [...alphabet].sort(byCodePoint);
  const minimum = specialTokens.length + 2 * chars.length;
  if (vocabSize < minimum) {
    throw new DataError(
      `WordPiece training: vocab_size ${vocabSize} is smaller than the ${specialTokens.length} special tokens plus ` +
        `the ${chars.length} characters of the training texts, each alone and as a continuation (${minimum}); raise model.vocab_size`,
    );
  }
  for (const ch of chars) add(ch);
  for (const ch of chars) add(prefix + ch);

  const words: number[][] = [];
  const counts: number[] = [];
  for (const [word, count] of wordCounts) {
    words.push(Array.from(word, (ch, i) => ids.get(i === 0 ? ch : prefix + ch)!));
    counts.push(count);
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const notePairs = (w: number, delta: Map<number, number> | null, sign: number) => {
    const word = words[w]!, count = counts[w]! * sign;
    for (let i = 0; i + 1 < word.length; i++) {
      const key = word[i]! * SHIFT + word[i + 1]!;
      if (delta) delta.set(key, (delta.get(key) ?? 0) + count);
      else pairCount.set(key, (pairCount.get(key) ?? 0) + count);
      if (sign > 0) {
        let where = pairWords.get(key);
        if (!where) pairWords.set(key, (where = new Set()));
        where.add(w);
      }
    }
  };
  for (let w = 0; w < words.length; w++) notePairs(w, null, 1);
  const heap = new PairHeap();
  for (const [key, count] of pairCount) heap.push(count, key);

  while (tokens.length < vocabSize && heap.size > 0) {
    const top = heap.pop();
    if (pairCount.get(top.key) !== top.count) continue; // stale: a newer entry holds the current count
    const left = Math.floor(top.key / SHIFT), right = top.key % SHIFT;
    const merged = add(tokens[left]! + tokens[right]!.slice(prefix.length));
    const delta = new Map<number, number>();
    for (const w of pairWords.get(top.key) ?? []) {
      const word = words[w]!;
      let at = -1;
      for (let i = 0; i + 1 < word.length && at < 0; i++) if (word[i] === left && word[i + 1] === right) at = i;
      if (at < 0) continue; // the pair left this word in an earlier merge
      notePairs(w, delta, -1);
      const next: number[] = word.slice(0, at);
      for (let i = at; i < word.length; ) {
        if (i + 1 < word.length && word[i] === left && word[i + 1] === right) {
          next.push(merged);
          i += 2;
        } else next.push(word[i++]!);
      }
      words[w] = next;
      notePairs(w, delta, 1);
    }
    pairWords.delete(top.key);
    for (const [key, change] of delta) {
      if (change === 0) continue;
      const count = (pairCount.get(key) ?? 0) + change;
      if (count > 0) {
        pairCount.set(key, count);
        heap.push(count, key);
      } else pairCount.delete(key);
    }
  }
  return tokens;
}
