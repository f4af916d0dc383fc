/**
 * Searching a space for the fittest sub-network under a latency budget: `random` (sample until
 * enough candidates fit the budget window) and `evolutionary` (AutoTinyBERT's evolved search, as
 * mmrazor's EvolutionSearcher does it: the top parents of each generation make children by mutation
 * and by crossover). Candidates count only when their predicted latency is within
 * [window[0], window[1]] x the budget (AutoTinyBERT: 0.85-1.1). Fitness is whatever the caller
 * measures (the validation metric with inherited weights); each architecture is scored once.
 * Groundwork for issue 14.
 */
import type { Rng } from '../rng.js';
import { archKey, sampleArch, smallestArch, type SearchSpace, type SubnetArch } from './space.js';

export interface SearchBudget {
  /** Predicted latency (ms) of a sub-network. */
  readonly latency: (arch: SubnetArch) => number;
  readonly budgetMs: number;
  /** Accepted predicted latencies, as fractions of the budget. Default [0.85, 1.1]. */
  readonly window?: readonly [number, number];
}

export interface Candidate {
  readonly arch: SubnetArch;
  readonly key: string;
  readonly latencyMs: number;
  readonly fitness: number;
  /** 0 for the initial population (and for random search). */
  readonly generation: number;
}

export interface SearchResult {
  readonly best: Candidate;
  /** Every candidate scored, in the order scored. */
  readonly candidates: readonly Candidate[];
}

export type Fitness = (arch: SubnetArch) => number | Promise<number>;

export class SearchBudgetError extends Error {
  override name = 'SearchBudgetError';
}

const DEFAULT_WINDOW: readonly [number, number] = [0.85, 1.1];

/** Refuses a budget no sub-network can meet, before any scoring: the smallest one's latency is the floor. */
export function checkBudget(space: SearchSpace, budget: SearchBudget): void {
  const floor = budget.latency(smallestArch(space));
  const [, high] = budget.window ?? DEFAULT_WINDOW;
  if (floor > budget.budgetMs * high) {
    throw new SearchBudgetError(
      `latency budget ${budget.budgetMs.toFixed(1)} ms is below what the smallest sub-network of the space needs (${floor.toFixed(1)} ms predicted, ${archKey(smallestArch(space))}); raise the budget or widen the space`,
    );
  }
}

function inWindow(budget: SearchBudget, ms: number): boolean {
  const [low, high] = budget.window ?? DEFAULT_WINDOW;
  return ms >= budget.budgetMs * low && ms <= budget.budgetMs * high;
}

/** Scores architectures once each (by key), keeping every candidate in scoring order. */
class Scorer {
  readonly candidates: Candidate[] = [];
  private readonly byKey = new Map<string, Candidate>();
  constructor(
    private readonly fitness: Fitness,
    private readonly budget: SearchBudget,
  ) {}

  async score(arch: SubnetArch, generation: number): Promise<Candidate> {
    const key = archKey(arch);
    const known = this.byKey.get(key);
    if (known) return known;
    const candidate = { arch, key, latencyMs: this.budget.latency(arch), fitness: await this.fitness(arch), generation };
    this.byKey.set(key, candidate);
    this.candidates.push(candidate);
    return candidate;
  }

  has(arch: SubnetArch): boolean {
    return this.byKey.has(archKey(arch));
  }

  best(): Candidate {
    return this.candidates.reduce((a, b) => (b.fitness > a.fitness ? b : a));
  }
}

/**
 * Draws from `propose` until an architecture within the window comes up that is not scored yet; a
 * space whose window holds few architectures would otherwise spend its population on repeats
 * (scored once, so a repeat adds nothing). After `tries` draws it takes an already scored one if it
 * found one (the window is used up), else gives up saying how far off the proposals were.
 */
function drawInWindow(propose: () => SubnetArch, budget: SearchBudget, tries: number, scored: (arch: SubnetArch) => boolean): SubnetArch {
  let closest = Number.POSITIVE_INFINITY;
  let repeat: SubnetArch | undefined;
  for (let i = 0; i < tries; i++) {
    const arch = propose();
    const ms = budget.latency(arch);
    if (inWindow(budget, ms)) {
      if (!scored(arch)) return arch;
      repeat ??= arch;
    } else closest = Math.min(closest, Math.abs(ms - budget.budgetMs));
  }
  if (repeat) return repeat;
  throw new SearchBudgetError(`no sub-network within the latency window of ${budget.budgetMs.toFixed(1)} ms in ${tries} draws (the closest was ${closest.toFixed(1)} ms away); widen the window or the space`);
}

export interface RandomSearchOptions {
  readonly candidates: number;
  readonly rng: Rng;
  /** Draws per candidate before giving up (default 1000). */
  readonly tries?: number;
}

/** `candidates` sub-networks drawn uniformly within the window, scored; the fittest wins. */
export async function randomSearch(space: SearchSpace, budget: SearchBudget, fitness: Fitness, options: RandomSearchOptions): Promise<SearchResult> {
  checkBudget(space, budget);
  const scorer = new Scorer(fitness, budget);
  for (let i = 0; i < options.candidates; i++) await scorer.score(drawInWindow(() => sampleArch(space, options.rng), budget, options.tries ?? 1000, (a) => scorer.has(a)), 0);
  return { best: scorer.best(), candidates: scorer.candidates };
}

export interface EvolutionOptions {
  readonly rng: Rng;
  /** Candidates per generation (AutoTinyBERT: 25). */
  readonly population?: number;
  readonly generations: number;
  /** Parents: the fittest this many of all scored so far (default half the population). */
  readonly parents?: number;
  /** Fraction of each generation's children made by mutation; the rest by crossover (AutoTinyBERT: 0.5). */
  readonly exploreRate?: number;
  /** Probability that mutation redraws each gene (AutoTinyBERT: 0.25). */
  readonly mutationRate?: number;
  readonly tries?: number;
}

/**
 * The evolved search: a random first generation within the window, then each generation's children
 * from the fittest parents: mutation redraws each gene (the depth, a layer's heads, a layer's FFN
 * width) with probability mutationRate; crossover takes each gene from either parent.
 */
export async function evolutionarySearch(space: SearchSpace, budget: SearchBudget, fitness: Fitness, options: EvolutionOptions): Promise<SearchResult> {
  checkBudget(space, budget);
  const { rng } = options;
  const population = options.population ?? 25;
  const parentsCount = options.parents ?? Math.max(2, Math.floor(population / 2));
  const mutations = Math.round(population * (options.exploreRate ?? 0.5));
  const mutationRate = options.mutationRate ?? 0.25;
  const tries = options.tries ?? 1000;
  const scorer = new Scorer(fitness, budget);
  const pick = <T>(values: readonly T[]): T => values[rng.int(values.length)]!;

  for (let i = 0; i < population; i++) await scorer.score(drawInWindow(() => sampleArch(space, rng), budget, tries, (a) => scorer.has(a)), 0);
  for (let generation = 1; generation <= options.generations; generation++) {
    const parents = [...scorer.candidates].sort((a, b) => b.fitness - a.fitness).slice(0, parentsCount).map((c) => c.arch);
    const mutate = (): SubnetArch => {
      const parent = pick(parents);
      const layers = rng.next() < mutationRate ? pick(space.layers) : parent.layers;
      const gene = (values: readonly number[], mine: readonly number[], i: number) => (i >= mine.length || rng.next() < mutationRate ? pick(values) : mine[i]!);
      return { layers, heads: Array.from({ length: layers }, (_, i) => gene(space.heads, parent.heads, i)), ffn: Array.from({ length: layers }, (_, i) => gene(space.ffn, parent.ffn, i)) };
    };
    const crossover = (): SubnetArch => {
      const [a, b] = [pick(parents), pick(parents)];
      const layers = rng.next() < 0.5 ? a.layers : b.layers;
      const gene = (x: readonly number[], y: readonly number[], values: readonly number[], i: number) => {
        const from = rng.next() < 0.5 ? x : y;
        return i < from.length ? from[i]! : i < x.length ? x[i]! : i < y.length ? y[i]! : pick(values);
      };
      return { layers, heads: Array.from({ length: layers }, (_, i) => gene(a.heads, b.heads, space.heads, i)), ffn: Array.from({ length: layers }, (_, i) => gene(a.ffn, b.ffn, space.ffn, i)) };
    };
    for (let i = 0; i < population; i++) await scorer.score(drawInWindow(i < mutations ? mutate : crossover, budget, tries, (a) => scorer.has(a)), generation);
  }
  return { best: scorer.best(), candidates: scorer.candidates };
}
