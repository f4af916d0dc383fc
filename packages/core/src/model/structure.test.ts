import { describe, expect, it } from 'vitest';
import { keptUnits, parseGateName, unitCount, unitOfEntry } from './structure.js';

describe('model structure', () => {
  it('parses gate names into layer and role', () => {
    expect(parseGateName('encoder.layer.3.attention.self.key')).toEqual({ layer: 3, role: 'key' });
    expect(parseGateName('encoder.layer.10.output.dense')).toEqual({ layer: 10, role: 'output' });
    expect(parseGateName('encoder.layer.1.attention.output.dense')).toEqual({ layer: 1, role: 'attention_output' });
    expect(parseGateName('pooler.dense')).toBeUndefined();
    expect(parseGateName('encoder.layer.0.attention.output.LayerNorm')).toBeUndefined();
  });

  it('maps entries to heads (query columns, attention-output rows) and neurons', () => {
    // d = 4, head size 2: query [4, 4] entry (r, c) belongs to head floor(c / 2).
    expect([0, 1, 2, 3].map((c) => unitOfEntry('query', [4, 4], 2, 4 * 3 + c))).toEqual([0, 0, 1, 1]);
    // attention output [4, 4]: entry (r, c) belongs to head floor(r / 2).
    expect([0, 1, 2, 3].map((r) => unitOfEntry('attention_output', [4, 4], 2, 4 * r + 3))).toEqual([0, 0, 1, 1]);
    // intermediate [4, 6]: column = neuron; output [6, 4]: row = neuron.
    expect(unitOfEntry('intermediate', [4, 6], 2, 6 * 2 + 5)).toBe(5);
    expect(unitOfEntry('output', [6, 4], 2, 4 * 5 + 1)).toBe(5);
    expect(unitCount('value', [4, 4], 2)).toBe(2);
    expect(unitCount('output', [6, 4], 2)).toBe(6);
    expect(() => unitCount('query', [4, 5], 2)).toThrow(/does not split into heads of size 2/);
  });

  it('counts a unit as kept unless all of its output-side rows are masked', () => {
    const attnOut = new Uint8Array(16).fill(1);
    attnOut.fill(0, 8, 16); // head 1's rows (2 and 3)
    const out = new Uint8Array(12).fill(1);
    out.fill(0, 0, 4); // neuron 0's row
    out[5] = 0; // one weight of neuron 1: still kept
    const gates = [
      { name: 'encoder.layer.0.attention.self.query', shape: [4, 4] as const, mask: new Uint8Array(16) }, // input side: ignored
      { name: 'encoder.layer.0.attention.output.dense', shape: [4, 4] as const, mask: attnOut },
      { name: 'encoder.layer.0.output.dense', shape: [3, 4] as const, mask: out },
    ];
    const [layer] = keptUnits(gates, 2);
    expect(layer).toMatchObject({ layer: 0, heads: 2, heads_kept: 1, neurons: 3, neurons_kept: 2, keptHeads: [true, false], keptNeurons: [false, true, true] });
  });
});
