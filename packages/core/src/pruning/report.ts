/** Sparsity reports over gated weights: global and per gate, read from the masks. */
import type { SparsityReport } from '../events.js';
import type { Gate } from '../model/gate.js';
import { keptUnits } from '../model/structure.js';
import { groupGates, undershootBound, type Granularity } from './groups.js';

/** Tolerance of assertSparsityTarget: the final global sparsity may be this much below target. */
export const SPARSITY_TOLERANCE = 0.005;

/** Number of zeros in a 0/1 mask. */
export function countPruned(mask: ArrayLike<number>): number {
  let pruned = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] === 0) pruned++;
  return pruned;
}

export interface SparsityReportOptions {
  /** Head size (d_model / original num_heads): with it, the report counts heads and neurons kept per layer. */
  headSize?: number;
}

/**
 * Reads every gate's mask and reports pruned counts and sparsities, global and per gate; with a
 * head size, also the heads and neurons kept per encoder layer (when gates are named encoder.layer.N.*).
 */
export function sparsityReport(gates: readonly Gate[], options: SparsityReportOptions = {}): SparsityReport {
  const report: SparsityReport = { global: 0, gates: {} };
  let size = 0;
  let pruned = 0;
  const masked = [];
  for (const gate of gates) {
    // Read outside any tidy: dataSync inside tf.tidy is far slower.
    const mask = gate.mask.dataSync() as Float32Array;
    const gatePruned = countPruned(mask);
    report.gates[gate.name] = { size: gate.size, pruned: gatePruned, sparsity: gate.size > 0 ? gatePruned / gate.size : 0 };
    size += gate.size;
    pruned += gatePruned;
    masked.push({ name: gate.name, shape: gate.shape, mask });
  }
  report.global = size > 0 ? pruned / size : 0;
  if (options.headSize !== undefined) {
    const layers = keptUnits(masked, options.headSize).map(({ layer, heads, heads_kept, neurons, neurons_kept }) => ({ layer, heads, heads_kept, neurons, neurons_kept }));
    if (layers.length > 0) report.layers = layers;
  }
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
 * The tolerance of assertSparsityTarget at a granularity: whole groups cannot hit the target to
 * the weight, so the bound of the greedy fill (the largest group per layer or gate) is added.
 */
export function sparsityTolerance(gates: readonly Pick<Gate, 'name' | 'shape' | 'size'>[], granularity: Granularity): number {
  if (granularity.kind === 'weight') return SPARSITY_TOLERANCE;
  const total = gates.reduce((n, g) => n + g.size, 0);
  const grouping = groupGates(gates, gates.map((g) => g.size), granularity, 'per_gate');
  return SPARSITY_TOLERANCE + (total > 0 ? undershootBound(grouping) / total : 0);
}

/**
 * Throws when `target` > 0 and the final global sparsity is more than `tolerance` below it,
 * or when nothing at all was pruned.
 */
export function assertSparsityTarget(report: SparsityReport, target: number, pruner: string, tolerance = SPARSITY_TOLERANCE): void {
  if (!(target > 0)) return;
  const { pruned } = totals(report);
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  if (pruned === 0) {
    throw new Error(`pruner ${pruner} pruned nothing, but the target sparsity is ${pct(target)}; check the pruning window (start_epoch, end_epoch) and the pruner's options`);
  }
  if (report.global < target - tolerance) {
    throw new Error(
      `pruner ${pruner} reached ${pct(report.global)} global sparsity, below its target ${pct(target)} ` +
        `(tolerance ${pct(tolerance)}):\n${formatSparsityReport(report)}`,
    );
  }
}

/** A per-gate table for logs, ending with the global line, then heads and neurons kept per layer when reported. */
export function formatSparsityReport(report: SparsityReport): string {
  const rows = Object.entries(report.gates).map(([name, g]) => [name, String(g.size), String(g.pruned), `${(100 * g.sparsity).toFixed(2)}%`]);
  const { size, pruned } = totals(report);
  const header = ['gate', 'size', 'pruned', 'sparsity'];
  const footer = ['global', String(size), String(pruned), `${(100 * report.global).toFixed(2)}%`];
  const table = formatTable(header, rows, footer);
  if (!report.layers?.length) return table;
  const layerRows = report.layers.map((l) => [`layer ${l.layer}`, `${l.heads_kept}/${l.heads}`, `${l.neurons_kept}/${l.neurons}`]);
  const kept = (key: 'heads' | 'neurons') => report.layers!.reduce((n, l) => n + l[`${key}_kept`], 0);
  const all = (key: 'heads' | 'neurons') => report.layers!.reduce((n, l) => n + l[key], 0);
  const layerFooter = ['all layers', `${kept('heads')}/${all('heads')}`, `${kept('neurons')}/${all('neurons')}`];
  return `${table}\n\n${formatTable(['layer', 'heads kept', 'neurons kept'], layerRows, layerFooter)}`;
}

function formatTable(header: string[], rows: string[][], footer: string[]): string {
  const all = [header, ...rows, footer];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.map(line), rule, line(footer)].join('\n');
}
