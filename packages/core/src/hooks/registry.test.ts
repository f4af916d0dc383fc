import { describe, expect, it } from 'vitest';
import { HookRegistry, PluginError } from './registry.js';
import type { PrunerContext } from './types.js';

const ctx = {} as PrunerContext;
const base = { state: () => null, restore: () => undefined };

describe('HookRegistry.register', () => {
  it('refuses a misspelled hook (it would never run), naming the pruner, the key and the hook meant', () => {
    const registry = new HookRegistry();
    const register = (instance: object) => () => registry.register('typo', ctx, instance);
    expect(register({ ...base, afterSteps: () => undefined })).toThrow(PluginError);
    expect(register({ ...base, afterSteps: () => undefined })).toThrow(
      "pruner typo, hook create: returned a function 'afterSteps', which is no hook and would never be called; did you mean 'afterStep'? Hooks: setup, beforeEpoch, afterBackward, afterStep, afterEpoch, teardown",
    );
    expect(register({ ...base, beforeepoch: () => undefined })).toThrow(/did you mean 'beforeEpoch'/);
  });

  it('accepts the hooks, state/restore, and a plugin\'s own fields and helpers', async () => {
    const registry = new HookRegistry();
    const calls: number[] = [];
    const instance = { ...base, scores: new Float32Array(2), rescore: () => undefined, afterStep: (_c: PrunerContext, step: number) => void calls.push(step) };
    registry.register('ok', ctx, instance);
    await registry.call('afterStep', 7);
    expect(calls).toEqual([7]);
  });
});
