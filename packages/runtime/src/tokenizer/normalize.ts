/**
 * BERT's text normalisation and pre-tokenisation, as Hugging Face tokenizers' BertNormalizer and
 * BertPreTokenizer do them (tokenizers/src/normalizers/bert.rs, pre_tokenizers/bert.rs), so the ids
 * equal those of the `tokenizers` binding gbp trains with. Written here because the binding is native
 * (Node only); the runtime must run in a browser too.
 */

export interface NormalizeOptions {
  /** Lowercase each character (Rust's char::to_lowercase: per character, no final-sigma rule). */
  lowercase: boolean;
  /** NFD and drop non-spacing marks (Mn); BERT does it exactly when it lowercases. */
  stripAccents: boolean;
}

// HF: is_control = Unicode "Other" (Cc, Cf, Cs, Co, Cn) except \t \n \r, which are whitespace.
const CONTROL = /\p{C}/u;
const WHITESPACE = /\p{White_Space}/u;
const NON_SPACING_MARK = /\p{Mn}/gu;
// HF's is_bert_punc: ASCII punctuation (incl. $+<=>^`| which Unicode calls symbols) or Unicode P*.
const PUNCTUATION = /[!-/:-@[-`{-~]|\p{P}/u;

/** The CJK ideograph blocks BERT surrounds with spaces (HF's is_chinese_char). */
function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

const isBertWhitespace = (ch: string) => ch === '\t' || ch === '\n' || ch === '\r' || WHITESPACE.test(ch);

/** BertNormalizer with clean_text and handle_chinese_chars on (BERT's defaults). */
export function bertNormalize(text: string, options: NormalizeOptions): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd) continue;
    if (isBertWhitespace(ch)) {
      out += ' ';
      continue;
    }
    if (CONTROL.test(ch)) continue;
    out += isChineseChar(cp) ? ` ${ch} ` : ch;
  }
  if (options.stripAccents) out = out.normalize('NFD').replace(NON_SPACING_MARK, '');
  if (options.lowercase) {
    let lower = '';
    for (const ch of out) lower += ch.toLowerCase();
    out = lower;
  }
  return out;
}

/** BertPreTokenizer: split on whitespace (dropped), then every punctuation character is a word of its own. */
export function bertPreTokenize(text: string): string[] {
  const words: string[] = [];
  let word = '';
  const flush = () => {
    if (word !== '') words.push(word);
    word = '';
  };
  for (const ch of text) {
    if (isBertWhitespace(ch)) flush();
    else if (PUNCTUATION.test(ch)) {
      flush();
      words.push(ch);
    } else word += ch;
  }
  flush();
  return words;
}
