import { afterEach, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../testing/index.js';
import { assertSparsityTarget, formatSparsityReport, sparsityReport } from './report.js';

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
});
