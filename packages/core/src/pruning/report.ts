/** Sparsity reports over gated weights: global and per gate, read from the masks. */
import type { SparsityReport } from '../events.js';
import type { Gate } from '../model/gate.js';

/** Tolerance of assertSparsityTarget: the final global sparsity may be this much below target. */
export const SPARSITY_TOLERANCE = 0.005;

/** Number of zeros in a 0/1 mask. */
export function countPruned(mask: ArrayLike<number>): number {
  let pruned = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] === 0) pruned++;
  return pruned;
}

/** Reads every gate's mask and reports pruned counts and sparsities, global and per gate. */
export function sparsityReport(gates: readonly Gate[]): SparsityReport {
  const report: SparsityReport = { global: 0, gates: {} };
  let size = 0;
  let pruned = 0;
  for (const gate of gates) {
    // Read outside any tidy: dataSync inside tf.tidy is far slower.
    const gatePruned = countPruned(gate.mask.dataSync() as Float32Array);
    report.gates[gate.name] = { size: gate.size, pruned: gatePruned, sparsity: gate.size > 0 ? gatePruned / gate.size : 0 };
    size += gate.size;
    pruned += gatePruned;
  }
  report.global = size > 0 ? pruned / size : 0;
  return report;
}

function totals(report: SparsityReport): { size: number; pruned: number } {
  let size = 0;
  let pruned = 0;
  for (const g of Object.values(report.gates)) {
    size += g.size;
    pruned += g.pruned;
  }
  return { size, pruned };
}

/**
 * Throws when `target` > 0 and the final global sparsity is more than SPARSITY_TOLERANCE below it,
 * or when nothing at all was pruned.
 */
export function assertSparsityTarget(report: SparsityReport, target: number, pruner: string): void {
  if (!(target > 0)) return;
  const { pruned } = totals(report);
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  if (pruned === 0) {
    throw new Error(`pruner ${pruner} pruned nothing, but the target sparsity is ${pct(target)}; check the pruning window (start_epoch, end_epoch) and the pruner's options`);
  }
  if (report.global < target - SPARSITY_TOLERANCE) {
    throw new Error(
      `pruner ${pruner} reached ${pct(report.global)} global sparsity, below its target ${pct(target)} ` +
        `(tolerance ${pct(SPARSITY_TOLERANCE)}):\n${formatSparsityReport(report)}`,
    );
  }
}

/** A per-gate table for logs, ending with the global line. */
export function formatSparsityReport(report: SparsityReport): string {
  const rows = Object.entries(report.gates).map(([name, g]) => [name, String(g.size), String(g.pruned), `${(100 * g.sparsity).toFixed(2)}%`]);
  const { size, pruned } = totals(report);
  const header = ['gate', 'size', 'pruned', 'sparsity'];
  const footer = ['global', String(size), String(pruned), `${(100 * report.global).toFixed(2)}%`];
  const all = [header, ...rows, footer];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.map(line), rule, line(footer)].join('\n');
}
