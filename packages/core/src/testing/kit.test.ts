import { afterEach, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { GatedDense } from '../model/gated_dense.js';
import { createPrunerContext } from '../train/pruner_context.js';
import { createTestContext, createTestGate, DEFAULT_TEST_PRUNING, type TestContext } from './index.js';

let ctx: TestContext | undefined;
afterEach(() => ctx?.dispose());

describe('createTestContext and createTestGate', () => {
  it('give the model gate, with its setMask checks (a refused initial mask frees the gate)', () => {
    ctx = createTestContext({ gates: [{ name: 'g', shape: [2, 2], mask: [1, 0, 1, 1] }] });
    const gate = ctx.gate('g');
    expect(gate).toBeInstanceOf(GatedDense);
    expect(ctx.masks()).toEqual([Uint8Array.from([1, 0, 1, 1])]);
    expect(() => gate.setMask(Float32Array.from([1, 0.5, 1, 1]))).toThrow('gate g: setMask expects only 0 or 1, got 0.5 at index 1');
    const tensors = tf.memory().numTensors;
    expect(() => createTestGate({ name: 'h', shape: [2, 2], mask: [1, 2, 1, 1] })).toThrow('gate h: setMask expects only 0 or 1, got 2 at index 1');
    expect(tf.memory().numTensors).toBe(tensors); // the refused gate's variables are freed
  });

  it("give the job's context: its RNG stream, gate lookup, logger and freezing", () => {
    ctx = createTestContext({ gates: [{ name: 'g', shape: [2, 2] }], seed: 9, name: 'p' });
    const logged: string[] = [];
    const job = createPrunerContext({
      name: 'p',
      gates: ctx.gates,
      counters: { step: 0, epoch: 0 },
      epochs: ctx.epochs,
      stepsPerEpoch: ctx.stepsPerEpoch,
      totalSteps: ctx.totalSteps,
      pruning: DEFAULT_TEST_PRUNING,
      model: ctx.model,
      seed: 9,
      log: (level, message, source) => void logged.push(`${level} ${source}: ${message}`),
    });
    expect([ctx.rng.next(), ctx.rng.next()]).toEqual([job.rng.next(), job.rng.next()]);
    expect(() => ctx!.gate('nope')).toThrow("no gate named 'nope'; gates are: g");
    ctx.log.warn('w');
    job.log.warn('w');
    expect(ctx.logs).toEqual([{ level: 'warn', message: 'w' }]);
    expect(logged).toEqual(['warn p: w']);
    expect(Object.isFrozen(ctx)).toBe(true);
    // The counters stay the kit's to move.
    ctx.step = 4;
    expect(ctx.step).toBe(4);
  });
});

