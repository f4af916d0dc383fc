import { afterEach, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../testing/index.js';
import { assertSparsityTarget, formatSparsityReport, SPARSITY_TOLERANCE, sparsityReport, sparsityTolerance } from './report.js';

let ctx: TestContext | undefined;
afterEach(() => ctx?.dispose());

describe('sparsity reports', () => {
  it('counts masked weights globally and per gate', () => {
    ctx = createTestContext({
      gates: [
        { name: 'a', shape: [2, 2], mask: [0, 1, 1, 0] },
        { name: 'b', shape: [2, 3], mask: [0, 0, 0, 1, 1, 1] },
      ],
    });
    const report = sparsityReport(ctx.gates);
    expect(report.gates).toEqual({ a: { size: 4, pruned: 2, sparsity: 0.5 }, b: { size: 6, pruned: 3, sparsity: 0.5 } });
    expect(report.global).toBe(0.5);
    const table = formatSparsityReport(report);
    expect(table).toMatch(/^gate\s+size\s+pruned\s+sparsity/);
    expect(table).toMatch(/global\s+10\s+5\s+50.00%$/);
  });
  it('asserts the target within 0.005 and that something was pruned', () => {
    const report = (pruned: number) => ({ global: pruned / 1000, gates: { a: { size: 1000, pruned, sparsity: pruned / 1000 } } });
    expect(() => assertSparsityTarget(report(895), 0.9, 'magnitude')).not.toThrow();
    expect(() => assertSparsityTarget(report(894), 0.9, 'magnitude')).toThrow(/pruner magnitude reached 89.40% global sparsity, below its target 90.00%/);
    expect(() => assertSparsityTarget(report(0), 0.9, 'spt')).toThrow(/pruner spt pruned nothing/);
    expect(() => assertSparsityTarget(report(0), 0, 'spt')).not.toThrow();
  });

  it('counts heads and neurons kept per layer when given the head size, and shows them in the table', () => {
    // d 4, head size 2, dff 2: head 1 of layer 0 removed (attention-output rows 2..3), neuron 0 of layer 1 removed (output row 0).
    const attnOut = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    ctx = createTestContext({
      gates: [
        { name: 'encoder.layer.0.attention.output.dense', shape: [4, 4], mask: attnOut },
        { name: 'encoder.layer.0.output.dense', shape: [2, 4] },
        { name: 'encoder.layer.1.attention.output.dense', shape: [4, 4] },
        { name: 'encoder.layer.1.output.dense', shape: [2, 4], mask: [0, 0, 0, 0, 1, 0, 1, 1] },
      ],
    });
    expect(sparsityReport(ctx.gates).layers).toBeUndefined();
    const report = sparsityReport(ctx.gates, { headSize: 2 });
    expect(report.layers).toEqual([
      { layer: 0, heads: 2, heads_kept: 1, neurons: 2, neurons_kept: 2 },
      { layer: 1, heads: 2, heads_kept: 2, neurons: 2, neurons_kept: 1 },
    ]);
    const table = formatSparsityReport(report);
    expect(table).toMatch(/layer\s+heads kept\s+neurons kept/);
    expect(table).toMatch(/layer 0\s+1\/2\s+2\/2/);
    expect(table).toMatch(/all layers\s+3\/4\s+3\/4$/);
  });
  it('widens the tolerance by the largest group per layer at structured granularity', () => {
    ctx = createTestContext({
      gates: [
        { name: 'encoder.layer.0.attention.self.query', shape: [4, 4] },
        { name: 'encoder.layer.0.attention.output.dense', shape: [4, 4] },
        { name: 'encoder.layer.0.output.dense', shape: [2, 4] },
      ],
    });
    expect(sparsityTolerance(ctx.gates, { kind: 'weight' })).toBe(SPARSITY_TOLERANCE);
    // A head is 4·2 query weights + 2·4 attention-output weights = 16 of 40.
    expect(sparsityTolerance(ctx.gates, { kind: 'structured', headSize: 2 })).toBeCloseTo(SPARSITY_TOLERANCE + 16 / 40);
    const report = { global: 0.5, gates: { a: { size: 40, pruned: 20, sparsity: 0.5 } } };
    expect(() => assertSparsityTarget(report, 0.8, 'magnitude', 0.4)).not.toThrow();
    expect(() => assertSparsityTarget(report, 0.8, 'magnitude', 0.2)).toThrow(/below its target 80.00% \(tolerance 20.00%\)/);
  });
});
