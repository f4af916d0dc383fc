/**
 * A sub-network of a (rewired) model: its first `arch.layers` layers, and in each the first heads
 * and FFN neurons. `subnetLookup` reads it out of the live variables (sliced inside the forward, so
 * gradients reach the shared weights: what supernet training needs); `subnetWeights` copies it out
 * as the weights of a compacted model of `archConfig`, which a model folder, gbp infer, bench and
 * export take as they are. Groundwork for issue 14.
 */
import { tf } from '../tf.js';
import { headSize, parameterSpecs, type ModelConfig } from '../model/config.js';
import type { GatedBert, ParamLookup } from '../model/encoder.js';
import type { NamedTensor } from '../model/safetensors.js';
import { archConfig, type SubnetArch } from './space.js';

/** How parameter `name` of the sub-network is cut from the full model's: [rows, cols] kept from the top left. */
export function cutOf(config: ModelConfig, sub: ModelConfig, name: string, shape: readonly number[]): readonly number[] {
  const match = /^encoder\.layer\.(\d+)\.(.+)$/.exec(name);
  if (match === null) return shape; // embeddings, pooler, classifier: whole
  const layer = Number(match[1]);
  const rest = match[2]!;
  const a = (sub.heads_per_layer?.[layer] ?? config.num_heads) * headSize(config);
  const f = sub.dff_per_layer?.[layer] ?? config.dff;
  if (/^attention\.self\.(query|key|value)\.weight$/.test(rest)) return [shape[0]!, a];
  if (/^attention\.self\.(query|key|value)\.bias$/.test(rest)) return [a];
  if (rest === 'attention.output.dense.weight') return [a, shape[1]!];
  if (rest === 'intermediate.dense.weight') return [shape[0]!, f];
  if (rest === 'intermediate.dense.bias') return [f];
  if (rest === 'output.dense.weight') return [f, shape[1]!];
  return shape;
}

/** The value a forward of the full model uses for `name`: W ⊙ M for a gated weight. Call inside tf.tidy. */
const fullValue = (model: GatedBert, name: string): tf.Tensor => model.gateOf(name)?.effective() ?? model.param(name);

/**
 * A ParamLookup running `arch` on `model`'s variables (W ⊙ M sliced): pass it with
 * `archConfig(model.config, arch)` to forward. Call the forward inside tf.tidy.
 */
export function subnetLookup(model: GatedBert, arch: SubnetArch): { config: ModelConfig; lookup: ParamLookup } {
  const sub = archConfig(model.config, arch);
  return {
    config: sub,
    lookup: (name) => {
      const full = fullValue(model, name);
      const cut = cutOf(model.config, sub, name, full.shape);
      return cut.every((n, i) => n === full.shape[i]) ? full : tf.slice(full, cut.map(() => 0), [...cut]);
    },
  };
}

/** The sub-network `arch` of `model` as a compacted model: its config and every weight it has (W ⊙ M, copied). */
export function subnetWeights(model: GatedBert, arch: SubnetArch): { config: ModelConfig; weights: Map<string, NamedTensor> } {
  const { config, lookup } = subnetLookup(model, arch);
  const weights = new Map<string, NamedTensor>();
  for (const spec of parameterSpecs(config)) {
    // Read outside tidy (a read inside tf.tidy is ~50x slower on wasm); a copy, the tensor is freed.
    const value = tf.tidy(() => tf.clone(lookup(spec.name)));
    weights.set(spec.name, { shape: [...spec.shape], data: (value.dataSync() as Float32Array).slice() });
    value.dispose();
  }
  return { config, weights };
}
