/**
 * The tokenizer a tfjs export ships: from a vocab.txt or a BERT tokenizer.json (written here by the
 * `tokenizers` binding itself), giving the ids core's tokenizer gives; anything else is refused.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenizerFromFile } from '@gbp/core';
import { BertTokenizer } from '@gbp/runtime';
import type * as Tokenizers from 'tokenizers';
import { afterAll, describe, expect, it } from 'vitest';
import { runtimeTokenizer } from './tfjs.js';

const dir = mkdtempSync(join(tmpdir(), 'gbp-tfjs-tokenizer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const t = createRequire(import.meta.url)('tokenizers') as typeof Tokenizers;

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'Café', 'cafe', 'Hello', 'hello', '!', ',', '中', 'un', '##able', 'a', '##b'];
const TEXTS = ['Café Hello!', 'cafe hello , 中', 'unable ab', 'CAFÉ'];

function tokenizerJson(name: string, options: { lowercase: boolean; preTokenizer?: Tokenizers.PreTokenizer }): string {
  const tokenizer = new t.Tokenizer(t.WordPiece.init(Object.fromEntries(VOCAB.map((v, i) => [v, i])), { unkToken: '[UNK]' }));
  tokenizer.setNormalizer(t.bertNormalizer({ lowercase: options.lowercase }));
  tokenizer.setPreTokenizer(options.preTokenizer ?? t.bertPreTokenizer());
  const path = join(dir, name, 'tokenizer.json');
  mkdirSync(join(dir, name), { recursive: true });
  tokenizer.save(path);
  return path;
}

describe('runtimeTokenizer', () => {
  for (const lowercase of [true, false]) {
    it(`reads a BERT tokenizer.json (${lowercase ? 'uncased' : 'cased'}): the runtime gives core's ids`, async () => {
      const path = tokenizerJson(`bert-${lowercase}`, { lowercase });
      const spec = runtimeTokenizer(path, !lowercase);
      expect(spec.lowercase).toBe(lowercase);
      const runtime = new BertTokenizer(spec);
      const core = await tokenizerFromFile(path);
      const expected = await core.encodeBatch(TEXTS.map((x) => [x]), 32);
      expect(TEXTS.map((x) => [...runtime.encode(x, 32).ids])).toEqual(expected.map((e) => [...e.ids]));
    });
  }

  it('reads a vocab.txt with the casing it is given', () => {
    const path = join(dir, 'vocab.txt');
    writeFileSync(path, `${VOCAB.join('\n')}\n`);
    expect(runtimeTokenizer(path, false)).toEqual({ vocab: VOCAB, lowercase: false });
  });

  it('refuses a tokenizer.json the runtime would tokenize differently, naming the file and the part', () => {
    const path = tokenizerJson('whitespace', { lowercase: true, preTokenizer: t.whitespacePreTokenizer() });
    expect(() => runtimeTokenizer(path, true)).toThrow(`${path}: pre_tokenizer Whitespace is not BertPreTokenizer, the one @gbp/runtime implements`);
  });
});
