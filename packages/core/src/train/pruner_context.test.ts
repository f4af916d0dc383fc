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
  'thresholdMasks',
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
    expect(Object.keys(fixture.helpers).sort()).toEqual(DECIDED_HELPERS);
    expect(Object.isFrozen(fixture.helpers)).toBe(true);
  });

  it("binds topKMasks and thresholdMasks to the job's granularity and gates; a pruner's own granularity overrides", () => {
    // One layer, d 4, 2 heads (head size 2), dff 2. Scores |W| from fixed weights: head 0 and neuron 1 are the weakest.
    const p = 'encoder.layer.0.';
    const cols = (weak: number[]) => Array.from({ length: 16 }, (_, i) => (weak.includes(i % 4) ? 0.1 : 1));
    fixture = createTestContext({
      gates: [
        { name: `${p}attention.self.query`, shape: [4, 4], values: cols([0, 1]) },
        { name: `${p}attention.output.dense`, shape: [4, 4], values: Array.from({ length: 16 }, (_, i) => (i < 8 ? 0.1 : 1)) },
        { name: `${p}intermediate.dense`, shape: [4, 2], values: Array.from({ length: 8 }, (_, i) => (i % 2 === 1 ? 0.1 : 1)) },
        { name: `${p}output.dense`, shape: [2, 4], values: [1, 1, 1, 1, 0.1, 0.1, 0.1, 0.1] },
      ],
      pruning: { granularity: 'structured' },
      model: { d_model: 4, num_heads: 2 },
    });
    const { helpers, gates } = fixture;
    const scores = helpers.magnitudeScores(gates);
    // Target 24 of 48: head 0 (8 + 8 = 16 weights) and neuron 1 (4 + 4 = 8), no names or shapes passed.
    const masks = helpers.topKMasks(scores, 0.5);
    expect(Array.from(masks[0]!)).toEqual(cols([0, 1]).map((v) => (v < 1 ? 0 : 1)));
    expect(Array.from(masks[1]!)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(Array.from(masks[3]!)).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    expect(Array.from(helpers.thresholdMasks(scores, 0.5)[3]!)).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    // A pruner asking for single weights gets them.
    const single = helpers.topKMasks(scores, 0.5, { granularity: { kind: 'weight' } });
    expect(single.reduce((n, m) => n + m.filter((v) => v === 0).length, 0)).toBe(24);
    // The report helper counts heads and neurons with the job's head size.
    helpers.applyMasks(gates, masks);
    expect(helpers.sparsityReport(gates).layers).toEqual([{ layer: 0, heads: 2, heads_kept: 1, neurons: 2, neurons_kept: 1 }]);
  });
});
