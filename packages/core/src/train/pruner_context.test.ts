import { afterEach, describe, expect, it } from 'vitest';
import { createTestContext, DEFAULT_TEST_PRUNING, type TestContext } from '../testing/index.js';
import { createPrunerContext } from './pruner_context.js';

// The decided plugin API: a helper is added here on purpose, never by exporting it from pruning/.
const DECIDED_HELPERS = [
  'applyMasks',
  'countPruned',
  'formatSparsityReport',
  'isEpochEndInWindow',
  'isPruningStep',
  'magnitudeScores',
  'pruningWindow',
  'readMask',
  'readWeights',
  'sparsityReport',
  'sparsitySteps',
  'targetSparsity',
  'topKMasks',
];

let fixture: TestContext | undefined;
afterEach(() => fixture?.dispose());

describe('PrunerContext.helpers', () => {
  it('holds exactly the PrunerHelpers functions, frozen, in the trainer and the test context alike', () => {
    fixture = createTestContext({ gates: [{ name: 'g', shape: [2, 2] }] });
    const ctx = createPrunerContext({
      name: 'p',
      gates: fixture.gates,
      counters: { step: 0, epoch: 0 },
      epochs: 3,
      stepsPerEpoch: 10,
      totalSteps: 30,
      pruning: DEFAULT_TEST_PRUNING,
      model: fixture.model,
      seed: 1,
      log: () => undefined,
    });
    expect(Object.keys(ctx.helpers).sort()).toEqual(DECIDED_HELPERS);
    expect(Object.values(ctx.helpers).every((f) => typeof f === 'function')).toBe(true);
    expect(Object.isFrozen(ctx.helpers)).toBe(true);
    expect(fixture.helpers).toBe(ctx.helpers);
  });
});
