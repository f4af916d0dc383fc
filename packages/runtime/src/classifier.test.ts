/**
 * TextClassifier on exports: logits equal to gbp's own InferenceModel (core) within 1e-4 on the
 * reference fixture (and its PyTorch reference logits) and on a compacted model with 0-head and
 * 0-FFN layers, on wasm and cpu; float16 exports; per-batch padding; refusals with clear messages.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { InferenceModel, type ModelConfig, type NamedTensor } from '@gbp/core';
import { readReferenceOutputs, referenceModelPresent } from '@gbp/core/testing';
import { describe, expect, it } from 'vitest';
import { compactedModel, randomTexts, referenceModel, roundedToFloat16, writeExport } from '../test/models.js';
import { TextClassifier } from './classifier.js';
import { padBatch } from './model/batch.js';
import type { TextInput } from './tokenizer/bert-tokenizer.js';

/** Core's logits for the runtime's own encoding of `inputs` (one padded batch). */
function coreLogits(config: ModelConfig, weights: ReadonlyMap<string, NamedTensor>, clf: TextClassifier, inputs: readonly TextInput[]): number[][] {
  const model = InferenceModel.fromWeights(config, weights);
  try {
    const logits = model.logits(padBatch(clf.encode(inputs), clf.tokenizer.padId));
    const rows = logits.arraySync();
    logits.dispose();
    return rows;
  } finally {
    model.dispose();
  }
}

function maxAbsDiff(a: readonly (ArrayLike<number>)[], b: readonly (ArrayLike<number>)[]): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  a.forEach((row, i) => {
    expect(row.length).toBe(b[i]!.length);
    for (let j = 0; j < row.length; j++) max = Math.max(max, Math.abs(row[j]! - b[i]![j]!));
  });
  return max;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`TextClassifier on ${backend}`, () => {
    it.skipIf(!referenceModelPresent())('gives the reference fixture\'s PyTorch logits and core\'s within 1e-4 (single texts and pairs)', async () => {
      const ref = readReferenceOutputs();
      const model = await referenceModel();
      const dir = writeExport(model.exportable);
      const clf = await TextClassifier.load(dir, { backend });
      try {
        expect(clf.backend.name).toBe(backend);
        for (const [inputs, expected] of [[ref.texts.single, ref.cases.single.logits], [ref.texts.pair, ref.cases.pair.logits]] as const) {
          const predictions = await clf.classify(inputs);
          const logits = predictions.map((p) => p.logits);
          expect(maxAbsDiff(logits, expected)).toBeLessThan(1e-4);
          expect(maxAbsDiff(logits, coreLogits(model.config, model.weights, clf, inputs))).toBeLessThan(1e-4);
        }
      } finally {
        clf.dispose();
        rmSync(dir, { recursive: true });
      }
    });

    it('runs a compacted model (a 0-head layer, a 0-wide FFN, ε 1e-6) as core does, within 1e-4, padded per batch', async () => {
      const model = compactedModel();
      const dir = writeExport(model.exportable);
      const clf = await TextClassifier.load(dir, { backend });
      try {
        const texts: TextInput[] = [...randomTexts(10), ['abc def', 'ghi'], ['', 'zz y']];
        const expected = coreLogits(model.config, model.weights, clf, texts);
        // batches of 3 are padded to their own longest input; the logits may not depend on it
        const got = await clf.logits(clf.encode(texts), 3);
        expect(maxAbsDiff(got, expected)).toBeLessThan(1e-4);
        // the model is not trivial: inputs give different logits
        expect(Math.abs(expected[0]![0]! - expected[1]![0]!)).toBeGreaterThan(1e-2);
      } finally {
        clf.dispose();
        rmSync(dir, { recursive: true });
      }
    });
  });
}

describe('TextClassifier', () => {
  it('reads a float16 export: core\'s logits on the float16-rounded weights within 1e-4, the float32 model\'s within 2e-2', async () => {
    const model = compactedModel();
    const dir = writeExport(model.exportable, 'float16');
    const clf = await TextClassifier.load(dir);
    try {
      const shard = readFileSync(join(dir, 'group1-shard1of1.bin'));
      const params = [...model.weights.values()].reduce((n, t) => n + t.data.length, 0);
      expect(shard.byteLength).toBe(2 * params);
      const texts = randomTexts(8, 11);
      const got = await clf.logits(clf.encode(texts));
      expect(maxAbsDiff(got, coreLogits(model.config, roundedToFloat16(model.weights), clf, texts))).toBeLessThan(1e-4);
      const drift = maxAbsDiff(got, coreLogits(model.config, model.weights, clf, texts));
      expect(drift).toBeGreaterThan(0);
      expect(drift).toBeLessThan(2e-2);
    } finally {
      clf.dispose();
      rmSync(dir, { recursive: true });
    }
  });

  it('reads weights split over several 4 MiB shards, a weight spanning two of them', async () => {
    // 40,000 x 32 word embeddings: 5.1 MB, so the first shard ends inside them
    const model = compactedModel(7, 3, 40_000);
    const dir = writeExport(model.exportable);
    const clf = await TextClassifier.load(dir);
    try {
      expect(clf.manifest.weightsManifest[0]!.paths).toEqual(['group1-shard1of2.bin', 'group1-shard2of2.bin']);
      const texts = randomTexts(6, 5);
      expect(maxAbsDiff(await clf.logits(clf.encode(texts)), coreLogits(model.config, model.weights, clf, texts))).toBeLessThan(1e-4);
    } finally {
      clf.dispose();
      rmSync(dir, { recursive: true });
    }
  });

  it('loads from a URL (fetch), a folder URL or its model.json, and names a URL that fails', async () => {
    const model = compactedModel();
    const dir = writeExport(model.exportable);
    const server = createServer((req, res) => {
      try {
        res.end(readFileSync(join(dir, new URL(req.url!, 'http://x').pathname.replace('/model/', ''))));
      } catch {
        res.writeHead(404, 'Not Found').end();
      }
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const texts = randomTexts(4, 9);
      for (const url of [`${base}/model`, `${base}/model/model.json`]) {
        const clf = await TextClassifier.load(url);
        expect(maxAbsDiff(await clf.logits(clf.encode(texts)), coreLogits(model.config, model.weights, clf, texts))).toBeLessThan(1e-4);
        clf.dispose();
      }
      await expect(TextClassifier.load(`${base}/elsewhere/`)).rejects.toThrow(`${base}/elsewhere/model.json: HTTP 404 Not Found`);
    } finally {
      server.close();
      rmSync(dir, { recursive: true });
    }
  });

  it('classifies: the label of the largest logit, its softmax probability as score', async () => {
    const model = compactedModel();
    const dir = writeExport(model.exportable);
    const clf = await TextClassifier.load(dir, { backend: 'cpu' });
    try {
      const [p] = await clf.classify(['abc de f']);
      const best = p!.logits.indexOf(Math.max(...p!.logits));
      expect(p!.label).toBe(['a', 'b', 'c'][best]);
      const exps = p!.logits.map((x) => Math.exp(x));
      expect(p!.score).toBeCloseTo(exps[best]! / exps.reduce((s, x) => s + x, 0), 6);
      expect(clf.labels).toEqual(['a', 'b', 'c']);
      clf.dispose();
      await expect(clf.classify(['a'])).rejects.toThrow('TextClassifier: used after dispose()');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('gives a regression model\'s value without a score', async () => {
    const model = compactedModel(7, 1);
    const dir = writeExport({ ...model.exportable, labels: ['similarity'] });
    const clf = await TextClassifier.load(dir, { backend: 'cpu' });
    try {
      const [p] = await clf.classify([['a b', 'c d']]);
      expect(p).toEqual({ logits: [expect.any(Number)], label: 'similarity' });
    } finally {
      clf.dispose();
      rmSync(dir, { recursive: true });
    }
  });

  describe('refuses a damaged export before loading weights, naming the file', () => {
    const model = compactedModel();
    // model.json as parsed JSON: the test edits it freely
    type Json = { config: Record<string, unknown>; version: number; weightsManifest: { weights: { shape: number[] }[] }[] };
    const edit = (change: (m: Json) => void) => {
      const dir = writeExport(model.exportable);
      const file = join(dir, 'model.json');
      const json = JSON.parse(readFileSync(file, 'utf8')) as Json;
      change(json);
      writeFileSync(file, JSON.stringify(json));
      return { dir, file };
    };
    it('a missing folder', async () => {
      await expect(TextClassifier.load('/nonexistent/gbp-export')).rejects.toThrow('/nonexistent/gbp-export: no such file or folder (expected a folder written by gbp export --format tfjs, or its model.json)');
    });
    it('a weight of the wrong shape', async () => {
      const { dir, file } = edit((m) => (m.weightsManifest[0]!.weights[0]!.shape = [3, 3]));
      await expect(TextClassifier.load(dir)).rejects.toThrow(`${file}: weightsManifest: weight 'embeddings.word_embeddings.weight' has shape [3,3], the config needs [60, 32]`);
    });
    it('a per-layer width out of range', async () => {
      const { dir, file } = edit((m) => (m.config.heads_per_layer = [2, 5, 4]));
      await expect(TextClassifier.load(dir)).rejects.toThrow(`${file}: config.heads_per_layer[1]: expected an integer from 0 to 4, got 5`);
    });
    it('a vocabulary larger than the embedding table', async () => {
      const { dir, file } = edit((m) => (m.config.vocab_size = 40));
      await expect(TextClassifier.load(dir)).rejects.toThrow(`${file}: tokenizer: 60 tokens, more than the model's 40 word embeddings (config.vocab_size)`);
    });
    it('a shard path outside the export folder', async () => {
      const { dir, file } = edit((m) => ((m.weightsManifest[0] as unknown as { paths: string[] }).paths = ['../../etc/passwd']));
      await expect(TextClassifier.load(dir)).rejects.toThrow(`${file}: weightsManifest[0].paths: "../../etc/passwd" is not a file name beside model.json`);
    });
    it('another format version', async () => {
      const { dir, file } = edit((m) => (m.version = 2));
      await expect(TextClassifier.load(dir)).rejects.toThrow(`${file}: version 2 is not supported (this runtime reads version 1)`);
    });
    it('a missing or truncated shard', async () => {
      const dir = writeExport(model.exportable);
      const shard = join(dir, 'group1-shard1of1.bin');
      writeFileSync(shard, readFileSync(shard).subarray(0, 100));
      await expect(TextClassifier.load(dir)).rejects.toThrow(`${join(dir, 'model.json')}: the shards group1-shard1of1.bin hold 100 bytes, the manifest's weights need`);
      rmSync(shard);
      await expect(TextClassifier.load(dir)).rejects.toThrow(`${shard}: missing (the export is incomplete)`);
    });
  });
});
