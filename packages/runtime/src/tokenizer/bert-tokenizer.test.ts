/**
 * The runtime's pure-TypeScript tokenizer against gbp's own (core's, on the native `tokenizers`
 * binding): the same ids on hand cases, the reference fixture and real GLUE text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tokenizerFromFile, type GbpTokenizer } from '@gbp/core';
import { readReferenceOutputs, REFERENCE_MODEL_DIR, referenceModelPresent } from '@gbp/core/testing';
import { describe, expect, it } from 'vitest';
import { readJsonl, writeVocab } from '../../test/helpers.js';
import { BertTokenizer, longestFirstLengths, parseVocabTxt } from './bert-tokenizer.js';
import { bertNormalize, bertPreTokenize } from './normalize.js';

const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
// A small vocabulary with accented, CJK and non-BMP entries, so the normaliser's effects show in the ids.
const HAND_VOCAB = [...SPECIAL, 'cafe', 'café', 'naive', 'un', '##aff', '##able', 'a', 'b', '##b', '!', ',', '.', '$', '中', '国', '𠀀', 'hello', 'Hello', 'σ', 'ς', 'i', '##̇', 'x', '##x'];

const runtimeFor = (vocab: readonly string[], lowercase: boolean) => new BertTokenizer({ vocab, lowercase });
const coreFor = (vocab: readonly string[], lowercase: boolean) => tokenizerFromFile(writeVocab(vocab), lowercase);

/** Expects the runtime's encode(…, maxLen) to equal core's encodeBatch (the native encoder) on every input. */
async function expectSameIds(runtime: BertTokenizer, core: GbpTokenizer, inputs: (string | [string, string])[], maxLen: number): Promise<number> {
  const expected = await core.encodeBatch(inputs.map((i) => (typeof i === 'string' ? [i] : i)), maxLen);
  let mismatches = 0;
  inputs.forEach((input, i) => {
    const got = runtime.encode(input, maxLen);
    if (got.ids.join(' ') !== expected[i]!.ids.join(' ') || got.typeIds.join(' ') !== expected[i]!.typeIds.join(' ')) {
      if (mismatches++ < 5) expect({ input, ids: [...got.ids], typeIds: [...got.typeIds] }).toEqual({ input, ids: [...expected[i]!.ids], typeIds: [...expected[i]!.typeIds] });
    }
  });
  expect(mismatches).toBe(0);
  return inputs.length;
}

describe('bertNormalize / bertPreTokenize (BertNormalizer, BertPreTokenizer)', () => {
  it('drops control characters, NUL and U+FFFD, turns every whitespace into a space', () => {
    expect(bertNormalize('a\u0000b\ufffdc\u0007d\u200be\tf\ng\u3000h\u00a0i', { lowercase: false, stripAccents: false })).toBe('abcde f g h i');
  });
  it('surrounds CJK ideographs (incl. beyond the BMP) with spaces, not kana or hangul', () => {
    expect(bertNormalize('ab中国c𠀀dカ한', { lowercase: false, stripAccents: false })).toBe('ab 中  国 c 𠀀 dカ한');
  });
  it('strips accents (NFD, drop Mn) and lowercases per character (no final-sigma rule)', () => {
    expect(bertNormalize('Café NAÏVE ΟΔΟΣ', { lowercase: true, stripAccents: true })).toBe('cafe naive οδοσ');
    expect(bertNormalize('Café', { lowercase: false, stripAccents: false })).toBe('Café');
  });
  it('splits on whitespace and isolates every punctuation character, ASCII symbols included', () => {
    expect(bertPreTokenize(" don't  stop!!  $5+3=8 «quoted» ")).toEqual(['don', "'", 't', 'stop', '!', '!', '$', '5', '+', '3', '=', '8', '«', 'quoted', '»']);
  });
});

describe('BertTokenizer', () => {
  it('WordPiece: greedy longest match with ## pieces, [UNK] for an unknown part and for a word over 100 characters', () => {
    const t = runtimeFor(HAND_VOCAB, true);
    const id = (token: string) => HAND_VOCAB.indexOf(token);
    expect(t.tokenize('unaffable')).toEqual([id('un'), id('##aff'), id('##able')]);
    expect(t.tokenize('unaffablez b')).toEqual([id('[UNK]'), id('b')]);
    expect(t.tokenize('b'.repeat(100))).toEqual([id('b'), ...Array(99).fill(id('##b'))]);
    expect(t.tokenize('b'.repeat(101))).toEqual([id('[UNK]')]);
    expect(t.tokenize('')).toEqual([]);
  });

  it('[CLS] a [SEP] b [SEP] with token types, truncated longest-first', () => {
    const t = runtimeFor(HAND_VOCAB, true);
    const { ids, typeIds } = t.encode(['a b b b b', 'x x'], 7);
    const id = (token: string) => HAND_VOCAB.indexOf(token);
    expect([...ids]).toEqual([id('[CLS]'), id('a'), id('b'), id('[SEP]'), id('x'), id('x'), id('[SEP]')]);
    expect([...typeIds]).toEqual([0, 0, 0, 0, 1, 1, 1]);
    expect(longestFirstLengths(10, 3, 6)).toEqual([3, 3]);
    expect(longestFirstLengths(10, 10, 7)).toEqual([3, 4]);
    expect([...t.encode('', 8).ids]).toEqual([id('[CLS]'), id('[SEP]')]);
  });

  it('refuses a maxLen without room for the special tokens and a vocabulary without [CLS]', () => {
    expect(() => runtimeFor(HAND_VOCAB, true).encode(['a', 'b'], 2)).toThrow('tokenizer: maxLen 2 leaves no room for [CLS] and [SEP] (need at least 3)');
    expect(() => new BertTokenizer({ vocab: ['[PAD]', '[UNK]', '[SEP]'], lowercase: true }, 'model.json')).toThrow('model.json: the vocabulary has no [CLS] token');
    expect(() => runtimeFor(HAND_VOCAB, true).encode(['a', 7 as unknown as string], 8)).toThrow('tokenizer: an input is a text or a pair of texts, got 7 (number)');
  });

  const handTexts = ['Café naïve', 'CAFÉ', 'Hello, hello!', '中国人', '𠀀x', 'ΟΔΟΣ σ', 'İ', 'a\u0000b\u200b c', '$$$ ,.', '', '   ', 'un\taff able\nunaffable', 'x'.repeat(101), `${'b'.repeat(60)}`];
  for (const lowercase of [true, false]) {
    it(`hand cases (accents, CJK, punctuation, control characters, long words, empty text) give core's ids, ${lowercase ? 'uncased' : 'cased'}`, async () => {
      const core = await coreFor(HAND_VOCAB, lowercase);
      await expectSameIds(runtimeFor(HAND_VOCAB, lowercase), core, [...handTexts, ['Café !', '中国'], ['', 'b']], 16);
      await expectSameIds(runtimeFor(HAND_VOCAB, lowercase), core, handTexts, 128);
    });
  }

  it.skipIf(!referenceModelPresent())('gives the reference fixture\'s ids for its texts (bert-ref-micro/reference.json), and core\'s', async () => {
    const ref = readReferenceOutputs();
    const vocab = parseVocabTxt(readFileSync(join(REFERENCE_MODEL_DIR, 'vocab.txt'), 'utf8'));
    const t = runtimeFor(vocab, true);
    await expectSameIds(t, await tokenizerFromFile(join(REFERENCE_MODEL_DIR, 'vocab.txt'), true), [...ref.texts.single, ...ref.texts.pair], 64);
    const check = (inputs: (string | [string, string])[], expected: number[][], types: number[][]) =>
      inputs.forEach((input, i) => {
        const real = expected[i]!.filter((_, j) => j === 0 || expected[i]![j] !== 0);
        const got = t.encode(input, 64);
        expect([...got.ids]).toEqual(real);
        expect([...got.typeIds]).toEqual(types[i]!.slice(0, real.length));
      });
    check(ref.texts.single, ref.cases.single.input_ids, ref.cases.single.token_type_ids);
    check(ref.texts.pair, ref.cases.pair.input_ids, ref.cases.pair.token_type_ids);
  });
});

const sst2 = readJsonl('sst2', 'validation');
// Sentence pairs of every pair task the data folder has (MNLI and QNLI are not in ../shared/data/glue
// today; they join when present), validation and train splits.
const PAIR_FIELDS: [task: string, splits: string[], a: string, b: string][] = [
  ['mrpc', ['validation', 'train'], 'sentence1', 'sentence2'],
  ['rte', ['validation', 'train'], 'sentence1', 'sentence2'],
  ['stsb', ['validation', 'train'], 'sentence1', 'sentence2'],
  ['wnli', ['validation', 'train'], 'sentence1', 'sentence2'],
  ['qnli', ['validation'], 'question', 'sentence'],
  ['mnli', ['validation_matched'], 'premise', 'hypothesis'],
];
const pairs = PAIR_FIELDS.flatMap(([task, splits, a, b]) => splits.flatMap((split) => (readJsonl(task, split) ?? []).map((r) => [String(r[a]), String(r[b])] as [string, string])));
if (!sst2) console.warn('[gbp] skipping the runtime tokenizer on real GLUE text: no ../shared/data/glue/sst2 (set GBP_DATA_DIR)');

describe.skipIf(!sst2 || !referenceModelPresent())('BertTokenizer on real GLUE text equals core\'s tokenizer', () => {
  // The fixture's vocabulary plus every character of the texts (and its ## form), so accented and
  // non-Latin characters become pieces instead of whole-word [UNK]s.
  const texts = [...sst2!.map((r) => String(r.sentence)), ...pairs.flat()];
  const base = parseVocabTxt(readFileSync(join(REFERENCE_MODEL_DIR, 'vocab.txt'), 'utf8'));
  const chars = new Set<string>();
  for (const text of texts) for (const ch of `${text}${text.toLowerCase().normalize('NFD')}`) chars.add(ch);
  const vocab = [...new Set([...base, ...[...chars].filter((c) => c.trim() !== ''), ...[...chars].filter((c) => c.trim() !== '').map((c) => `##${c}`)])];

  for (const lowercase of [true, false]) {
    it(`every SST-2 validation sentence and every sentence pair of the pair tasks present, ${lowercase ? 'uncased' : 'cased'}`, async () => {
      const core = await coreFor(vocab, lowercase);
      const runtime = runtimeFor(vocab, lowercase);
      expect(await expectSameIds(runtime, core, sst2!.map((r) => String(r.sentence)), 128)).toBe(sst2!.length);
      expect(pairs.length).toBeGreaterThan(3000);
      // 64 tokens: many pairs are truncated, longest first
      expect(await expectSameIds(runtime, core, pairs, 64)).toBe(pairs.length);
    });
  }
});
