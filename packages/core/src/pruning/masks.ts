/** Reading gate weights and masks into typed arrays, and writing masks back. */
import type { Gate } from '../model/gate.js';

/** A copy of the gate's weights, row-major (read outside tf.tidy, which makes dataSync slow). */
export function readWeights(gate: Gate): Float32Array {
  return Float32Array.from(gate.weight.dataSync() as Float32Array);
}

/** A copy of the gate's mask as 0/1 bytes. */
export function readMask(gate: Gate): Uint8Array {
  const values = gate.mask.dataSync() as Float32Array;
  const mask = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) mask[i] = values[i] === 0 ? 0 : 1;
  return mask;
}

/** |W| of each gate, as score arrays for topKMasks. */
export function magnitudeScores(gates: readonly Gate[]): Float32Array[] {
  return gates.map((gate) => {
    const w = readWeights(gate);
    for (let i = 0; i < w.length; i++) w[i] = Math.abs(w[i]!);
    return w;
  });
}

/** Sets masks[g] on gates[g]. */
export function applyMasks(gates: readonly Gate[], masks: readonly Uint8Array[]): void {
  if (masks.length !== gates.length) throw new Error(`got ${masks.length} masks for ${gates.length} gates`);
  gates.forEach((gate, g) => gate.setMask(masks[g]!));
}
