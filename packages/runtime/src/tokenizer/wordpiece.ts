/**
 * WordPiece: greedy longest-match-first over a vocabulary, as BERT and HF tokenizers' WordPiece model.
 * The same algorithm as core's data/wordpiece.ts, on purpose: the runtime may not depend on core (no
 * training code, no native binding) and core cannot import the runtime (the runtime's tests import
 * core, a cycle for nx); the tokenizer parity tests keep the two giving the same ids.
 */

export interface WordPieceVocab {
  /** Token → id. */
  readonly ids: ReadonlyMap<string, number>;
  readonly unkId: number;
  /** Marks a piece that continues a word: '##'. */
  readonly prefix: string;
  /** A longer word (in characters) is [UNK] whole: 100 in BERT. */
  readonly maxInputCharsPerWord: number;
}

/** Appends the ids of one pre-tokenised word to `out`; the whole word is [UNK] if any part is not in the vocabulary. */
export function wordPieceIds(word: string, vocab: WordPieceVocab, out: number[]): void {
  // code-point boundaries, so a piece never splits a surrogate pair
  const bounds: number[] = [0];
  for (let i = 0; i < word.length; ) {
    i += word.codePointAt(i)! > 0xffff ? 2 : 1;
    bounds.push(i);
  }
  const chars = bounds.length - 1;
  if (chars > vocab.maxInputCharsPerWord) {
    out.push(vocab.unkId);
    return;
  }
  const start = out.length;
  for (let from = 0; from < chars; ) {
    let to = chars;
    let id: number | undefined;
    for (; to > from; to--) {
      const piece = word.slice(bounds[from], bounds[to]);
      id = vocab.ids.get(from > 0 ? vocab.prefix + piece : piece);
      if (id !== undefined) break;
    }
    if (id === undefined) {
      out.length = start;
      out.push(vocab.unkId);
      return;
    }
    out.push(id);
    from = to;
  }
}
