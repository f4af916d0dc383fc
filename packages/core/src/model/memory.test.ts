import { describe, expect, it } from 'vitest';
import { activationBytesPerToken, autoMicroBatchSize } from './memory.js';
import { resolveModelConfig } from './config.js';

describe('micro-batch memory estimate', () => {
  it('is at or above the peaks measured on wasm (floats per token and layer)', () => {
    const measured = [
      ['tiny', 64, 32_333],
      ['small', 128, 67_994],
      ['base', 128, 148_183],
    ] as const;
    for (const [size, T, floats] of measured) {
      const config = resolveModelConfig({ size });
      const estimate = activationBytesPerToken(config, T) / 4 / config.num_layers;
      expect(estimate, size).toBeGreaterThanOrEqual(floats);
      expect(estimate, size).toBeLessThan(floats * 1.3);
    }
  });

  it('picks the largest power of two that fits, within [1, batch]', () => {
    const small = resolveModelConfig({ size: 'small' });
    expect(autoMicroBatchSize(small, 128, 32)).toBe(8);
    expect(autoMicroBatchSize(small, 64, 32)).toBe(16);
    expect(autoMicroBatchSize(resolveModelConfig({ size: 'tiny' }), 64, 32)).toBe(32);
    expect(autoMicroBatchSize(small, 128, 6)).toBe(6); // the whole batch fits
    expect(autoMicroBatchSize(small, 128, 32, 1)).toBe(1); // nothing fits: one example at a time
  });
});
