/**
 * Architecture search spaces over a model (AutoTinyBERT's, on gbp's per-layer widths): how many
 * layers are kept (the first N), and for each kept layer its attention heads and FFN width, each
 * from a list of allowed values. A sub-network is a ModelConfig with heads_per_layer and
 * dff_per_layer, the same format as a compacted model, so compaction, bench and export take it as is.
 * Groundwork for issue 14 (supernet training and search are not built yet).
 */
import type { Rng } from '../rng.js';
import { validateLayerWidths, type ModelConfig } from '../model/config.js';

/** Allowed values per dimension, as a pipeline would give them; a missing one keeps the model's own value only. */
export interface SearchSpaceSpec {
  /** Layers kept (the first N of the model). */
  readonly layers?: readonly number[];
  /** Attention heads per kept layer. */
  readonly heads?: readonly number[];
  /** FFN width per kept layer. */
  readonly ffn?: readonly number[];
}

/** A checked space: each list sorted ascending, without duplicates. */
export interface SearchSpace {
  readonly layers: readonly number[];
  readonly heads: readonly number[];
  readonly ffn: readonly number[];
}

/** One sub-network: `heads[i]` and `ffn[i]` of kept layer i. */
export interface SubnetArch {
  readonly layers: number;
  readonly heads: readonly number[];
  readonly ffn: readonly number[];
}

export class SearchSpaceError extends Error {
  override name = 'SearchSpaceError';
}

/**
 * Checks `spec` against `config` and returns it sorted; throws a SearchSpaceError naming every bad
 * field (`space.heads: 16 is more than the model's 8 heads`) before any work.
 */
export function resolveSearchSpace(spec: SearchSpaceSpec, config: ModelConfig, where = 'space'): SearchSpace {
  const problems: string[] = [];
  const list = (field: keyof SearchSpaceSpec, fallback: number, min: number, max: number, what: string): number[] => {
    const values = spec[field] ?? [fallback];
    if (!Array.isArray(values) || values.length === 0) {
      problems.push(`${where}.${field}: an empty list (give at least one value, or leave it out to keep the model's ${fallback})`);
      return [];
    }
    for (const v of values) {
      if (!Number.isInteger(v)) problems.push(`${where}.${field}: ${JSON.stringify(v)} is not an integer`);
      else if (v < min) problems.push(`${where}.${field}: ${v} is less than ${min}`);
      else if (v > max) problems.push(`${where}.${field}: ${v} is more than the model's ${max} ${what}`);
    }
    return [...new Set(values)].sort((a, b) => a - b);
  };
  const layers = list('layers', config.num_layers, 1, config.num_layers, 'layers');
  const heads = list('heads', config.num_heads, 0, config.num_heads, 'heads');
  const ffn = list('ffn', config.dff, 0, config.dff, 'FFN neurons');
  if (problems.length > 0) throw new SearchSpaceError(problems.join('\n'));
  return { layers, heads, ffn };
}

const last = (values: readonly number[]) => values[values.length - 1]!;

/** The largest sub-network of the space (every dimension at its largest value). */
export function largestArch(space: SearchSpace): SubnetArch {
  const layers = last(space.layers);
  return { layers, heads: Array(layers).fill(last(space.heads)), ffn: Array(layers).fill(last(space.ffn)) };
}

/** The smallest sub-network of the space. */
export function smallestArch(space: SearchSpace): SubnetArch {
  const layers = space.layers[0]!;
  return { layers, heads: Array(layers).fill(space.heads[0]), ffn: Array(layers).fill(space.ffn[0]) };
}

/** A sub-network drawn uniformly, dimension by dimension (the sandwich rule's random ones). */
export function sampleArch(space: SearchSpace, rng: Rng): SubnetArch {
  const pick = (values: readonly number[]) => values[rng.int(values.length)]!;
  const layers = pick(space.layers);
  return { layers, heads: Array.from({ length: layers }, () => pick(space.heads)), ffn: Array.from({ length: layers }, () => pick(space.ffn)) };
}

/** A short stable name: `L4-h8,8,4,4-f512,512,256,0`. */
export const archKey = (arch: SubnetArch): string => `L${arch.layers}-h${arch.heads.join(',')}-f${arch.ffn.join(',')}`;

/** The sub-network as a model config of the compacted format (its first `arch.layers` layers). */
export function archConfig(config: ModelConfig, arch: SubnetArch): ModelConfig {
  if (arch.heads.length !== arch.layers || arch.ffn.length !== arch.layers) {
    throw new SearchSpaceError(`arch ${archKey(arch)}: ${arch.layers} layers need ${arch.layers} head and FFN widths`);
  }
  const sub: ModelConfig = { ...config, num_layers: arch.layers, heads_per_layer: [...arch.heads], dff_per_layer: [...arch.ffn] };
  validateLayerWidths(sub);
  return sub;
}
