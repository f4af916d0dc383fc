/** Checking a set of named weights against the parameters a config builds (parameterSpecs). */
import { parameterSpecs, type ModelConfig } from './config.js';
import type { NamedTensor } from './safetensors.js';

/**
 * Throws, naming `where` and the tensor, when a parameter of `config` is missing from `weights`,
 * is not F32 (when a dtype is given) or has another shape or number of values. Extra names are
 * the caller's business (see refuseExtraTensors).
 */
export function checkWeights(config: ModelConfig, weights: ReadonlyMap<string, NamedTensor & { dtype?: string }>, where: string): void {
  for (const spec of parameterSpecs(config)) {
    const t = weights.get(spec.name);
    if (t === undefined) throw new Error(`${where}: tensor '${spec.name}' is missing (expected shape [${spec.shape.join(', ')}])`);
    if (t.dtype !== undefined && t.dtype !== 'F32') throw new Error(`${where}: tensor '${spec.name}' has dtype ${t.dtype}, expected F32`);
    if (t.shape.length !== spec.shape.length || t.shape.some((s, i) => s !== spec.shape[i])) {
      throw new Error(`${where}: tensor '${spec.name}' has shape [${t.shape.join(', ')}], expected [${spec.shape.join(', ')}]`);
    }
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== size) throw new Error(`${where}: tensor '${spec.name}' has ${t.data.length} values, expected ${size}`);
  }
}

/** Throws when `weights` holds names that are not parameters of `config`. */
export function refuseExtraTensors(config: ModelConfig, weights: ReadonlyMap<string, unknown>, where: string): void {
  const known = new Set(parameterSpecs(config).map((s) => s.name));
  const extra = [...weights.keys()].filter((name) => !known.has(name));
  if (extra.length > 0) throw new Error(`${where}: unexpected tensor(s) ${extra.map((n) => `'${n}'`).join(', ')}: not parameters of this config`);
}
