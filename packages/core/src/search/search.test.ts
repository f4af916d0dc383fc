import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { resolveModelConfig } from '../model/config.js';
import { archConfig, archKey, largestArch, resolveSearchSpace, sampleArch, smallestArch, SearchSpaceError } from './space.js';
import { fitLatencyModel, latencyFeatures, LATENCY_FEATURES, predictLatency, type LatencySample } from './latency-model.js';

const config = resolveModelConfig({ size: 'tiny', num_layers: 4, d_model: 64, num_heads: 4, dff: 256, vocab_size: 100, max_len: 32 }, 2);

describe('search space', () => {
  it('sorts and dedupes the allowed values; a missing dimension keeps the model\'s own value', () => {
    const space = resolveSearchSpace({ layers: [4, 2, 2], heads: [4, 1, 2] }, config);
    expect(space).toEqual({ layers: [2, 4], heads: [1, 2, 4], ffn: [256] });
    expect(largestArch(space)).toEqual({ layers: 4, heads: [4, 4, 4, 4], ffn: [256, 256, 256, 256] });
    expect(smallestArch(space)).toEqual({ layers: 2, heads: [1, 1], ffn: [256, 256] });
  });

  it('refuses an empty list, values beyond the model and non-integers, naming every field', () => {
    const refuse = () => resolveSearchSpace({ layers: [], heads: [0, 8], ffn: [128.5, -1] }, config, 'stages.supernet.space');
    expect(refuse).toThrow(SearchSpaceError);
    expect(refuse).toThrow(
      [
        "stages.supernet.space.layers: an empty list (give at least one value, or leave it out to keep the model's 4)",
        "stages.supernet.space.heads: 8 is more than the model's 4 heads",
        'stages.supernet.space.ffn: 128.5 is not an integer',
        'stages.supernet.space.ffn: -1 is less than 0',
      ].join('\n'),
    );
  });

  it('samples sub-networks inside the space, and each becomes a valid compacted config', () => {
    const space = resolveSearchSpace({ layers: [1, 3], heads: [0, 2, 4], ffn: [0, 64, 256] }, config);
    const rng = new Rng(3);
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const arch = sampleArch(space, rng);
      seen.add(archKey(arch));
      expect(space.layers).toContain(arch.layers);
      arch.heads.forEach((h) => expect(space.heads).toContain(h));
      arch.ffn.forEach((f) => expect(space.ffn).toContain(f));
      const sub = archConfig(config, arch);
      expect(sub.num_layers).toBe(arch.layers);
      expect(sub.heads_per_layer).toEqual(arch.heads);
    }
    expect(seen.size).toBeGreaterThan(20);
    expect(() => archConfig(config, { layers: 2, heads: [4], ffn: [256, 256] })).toThrow('arch L2-h4-f256,256: 2 layers need 2 head and FFN widths');
  });
});

describe('latency model', () => {
  it('counts the FLOP components of a sub-network by hand', () => {
    // One layer, 2 heads of 16 (a = 32), FFN 64, d = 64, batch 2 x 8 tokens.
    const x = latencyFeatures(config, { layers: 1, heads: [2], ffn: [64] }, 2, 8);
    expect(LATENCY_FEATURES).toHaveLength(x.length);
    const tokens = 16;
    expect(x).toEqual([1, 1, 2, (2 * tokens * 4 * 64 * 32) / 1e9, (4 * 2 * 8 * 8 * 32) / 1e9, (2 * tokens * 2 * 64 * 64) / 1e9]);
  });

  it('recovers a linear latency from noisy samples and reports its held-out error', () => {
    const space = resolveSearchSpace({ layers: [1, 2, 3, 4], heads: [0, 1, 2, 3, 4], ffn: [0, 64, 128, 256] }, config);
    const truth = [0.8, 0.3, 0.05, 40, 25, 45];
    const rng = new Rng(5);
    const samples: LatencySample[] = Array.from({ length: 40 }, () => {
      const arch = sampleArch(space, rng);
      const exact = latencyFeatures(config, arch, 8, 32).reduce((s, xi, i) => s + xi * truth[i]!, 0);
      return { arch, ms: exact * (1 + (rng.next() - 0.5) * 0.02) }; // ±1 % measurement noise
    });
    const model = fitLatencyModel(config, samples, { batch: 8, seq: 32, backend: 'wasm', rng: new Rng(1) });
    expect(model.fit).toMatchObject({ samples: 30, held_out: 10 });
    expect(model.fit.max_abs_error).toBeLessThan(0.03);
    const arch = largestArch(space);
    const exact = latencyFeatures(config, arch, 8, 32).reduce((s, xi, i) => s + xi * truth[i]!, 0);
    expect(Math.abs(predictLatency(model, config, arch) - exact) / exact).toBeLessThan(0.02);
    expect(model.machine).toMatch(/x\d+, .*node /);
  });

  it('refuses too few samples, saying how many it needs', () => {
    const samples = [{ arch: { layers: 1, heads: [1], ffn: [64] }, ms: 1 }];
    expect(() => fitLatencyModel(config, samples, { batch: 1, seq: 8, backend: 'wasm', rng: new Rng(1) })).toThrow(
      'latency model: 1 measured sub-networks; fitting 6 coefficients with 1 held out needs at least 9',
    );
  });
});
