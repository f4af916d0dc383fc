/**
 * What a search job leaves in `<job>/search/`: candidates.csv (one row per scored candidate) and
 * summary.json (the budget, the choice, the latency model's and the finalists' errors). Both are
 * written atomically: a failed search leaves the previous files or none, never half of one.
 */
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../fs-atomic.js';
import { csvCell } from '../results/index.js';
import type { SearchBudgetSpec } from '../spec.js';
import type { Candidate } from './evolution.js';
import type { LatencyFit } from './latency-model.js';

/** A scored candidate with what the job adds: its size, and for a finalist its measured latency. */
export interface ScoredCandidate extends Candidate {
  readonly params: number;
  /** Finalists only. */
  readonly measuredMs?: number;
  readonly finalist: boolean;
  readonly chosen: boolean;
}

export const CANDIDATE_COLUMNS = ['arch', 'layers', 'heads', 'ffn', 'params', 'predicted_ms', 'measured_ms', 'fitness', 'generation', 'finalist', 'chosen'] as const;

/** candidates.csv's text: RFC 4180 (the arch key and the per-layer lists hold commas, so those cells are quoted). */
export function candidatesCsv(candidates: readonly ScoredCandidate[]): string {
  const rows = candidates.map((c) =>
    [c.key, c.arch.layers, c.arch.heads.join(','), c.arch.ffn.join(','), c.params, c.latencyMs, c.measuredMs, c.fitness, c.generation, c.finalist, c.chosen]
      .map((v) => csvCell(typeof v === 'boolean' ? String(v) : v))
      .join(','),
  );
  return `${[CANDIDATE_COLUMNS.join(','), ...rows].join('\n')}\n`;
}

export interface SearchSummary {
  readonly method: 'evolutionary' | 'random';
  readonly budget: SearchBudgetSpec;
  readonly budget_ms: number;
  readonly window: readonly [number, number];
  /** The full model's measured latency. */
  readonly reference_ms: number;
  /** The fitness metric (the task's primary metric on the first evaluation split). */
  readonly metric: string;
  readonly candidates: number;
  readonly chosen: {
    readonly arch: string;
    readonly layers: number;
    readonly heads: readonly number[];
    readonly ffn: readonly number[];
    readonly params: number;
    readonly predicted_ms: number;
    readonly measured_ms: number;
    readonly fitness: number;
    /** False when no finalist measured within budget x window[1]: the fittest was taken (a warning in the log). */
    readonly within_budget: boolean;
  };
  /** The latency model's error on the samples held out of its fit. */
  readonly latency_fit: LatencyFit;
  /** |predicted − measured| / measured over the finalists. */
  readonly finalists_error: { readonly mean_abs_error: number; readonly max_abs_error: number; readonly finalists: number };
}

/** The files' paths under a job folder. */
export const searchFiles = (outputDir: string) => {
  const dir = join(outputDir, 'search');
  return { dir, candidates: join(dir, 'candidates.csv'), summary: join(dir, 'summary.json'), latencyModel: join(dir, 'latency_model.json') };
};

export async function writeSearchReport(outputDir: string, candidates: readonly ScoredCandidate[], summary: SearchSummary): Promise<void> {
  const files = searchFiles(outputDir);
  await writeFileAtomic(files.candidates, candidatesCsv(candidates));
  await writeJsonAtomic(files.summary, summary);
}
