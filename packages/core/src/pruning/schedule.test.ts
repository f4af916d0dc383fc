import { describe, expect, it } from 'vitest';
import type { PruningSpec } from '../spec.js';
import { isPruningStep, pruningWindow, sparsitySteps, targetSparsity } from './schedule.js';

const spec = (p: Partial<PruningSpec>): PruningSpec => ({ start_sparsity: 0, end_sparsity: 0.9, start_epoch: 1, end_epoch: 2, ...p });

describe('linear schedule', () => {
  const p = spec({ start_sparsity: 0.1, end_sparsity: 0.9, start_epoch: 2, end_epoch: 6 });
  it('is 0 before the window, start at start_epoch, end at end_epoch and after', () => {
    const at = (epoch: number) => targetSparsity('linear', p, { epoch, epochs: 10 });
    expect(at(1)).toBe(0);
    expect(at(2)).toBeCloseTo(0.1, 12);
    expect(at(3)).toBeCloseTo(0.3, 12);
    expect(at(4)).toBeCloseTo(0.5, 12);
    expect(at(6)).toBeCloseTo(0.9, 12);
    expect(at(9)).toBeCloseTo(0.9, 12);
  });
  it('caps end_epoch to the number of epochs', () => {
    const capped = spec({ start_sparsity: 0.1, end_sparsity: 0.9, start_epoch: 2, end_epoch: 20 });
    expect(pruningWindow(capped, 6)).toEqual({ startEpoch: 2, endEpoch: 6 });
    expect(targetSparsity('linear', capped, { epoch: 4, epochs: 6 })).toBeCloseTo(0.5, 12);
  });
  it('serves step-level pruners through fractional progress', () => {
    const at = (step: number) => targetSparsity('linear', p, { step, stepsPerEpoch: 10, epochs: 10 });
    expect(at(19)).toBe(0); // t = 1.9, before the window
    expect(at(20)).toBeCloseTo(0.1, 12);
    expect(at(30)).toBeCloseTo(0.3, 12);
    expect(at(35)).toBeCloseTo(0.4, 12);
    expect(at(60)).toBeCloseTo(0.9, 12);
  });
  it('gives end_sparsity when the window is one epoch', () => {
    expect(targetSparsity('linear', spec({ start_epoch: 3, end_epoch: 3 }), { epoch: 3, epochs: 5 })).toBe(0.9);
  });
  it('rejects an empty window with the reason', () => {
    expect(() => targetSparsity('linear', spec({ start_epoch: 4, end_epoch: 6 }), { epoch: 1, epochs: 3 })).toThrow(
      /start_epoch \(4\) is after pruning.end_epoch 3 \(end_epoch 6 capped to 3 epochs\)/,
    );
  });
});

describe('cubic schedule (Zhu & Gupta)', () => {
  it('matches s_f + (s_i - s_f)(1 - f)^3', () => {
    const p = spec({ start_sparsity: 0, end_sparsity: 0.8, start_epoch: 1, end_epoch: 3 });
    const at = (step: number) => targetSparsity('cubic', p, { step, stepsPerEpoch: 4, epochs: 4 });
    expect(at(3)).toBe(0);
    expect(at(4)).toBeCloseTo(0, 12); // f = 0
    expect(at(6)).toBeCloseTo(0.8 - 0.8 * 0.75 ** 3, 12); // f = 0.25: 0.4625
    expect(at(8)).toBeCloseTo(0.7, 12); // f = 0.5
    expect(at(12)).toBeCloseTo(0.8, 12);
    expect(at(16)).toBeCloseTo(0.8, 12);
  });
});

describe('steps schedule', () => {
  it('spreads the listed percentages evenly over the window', () => {
    const p = spec({ start_epoch: 2, end_epoch: 4, sparsity_steps: [10, 50, 90] });
    const at = (step: number) => targetSparsity('steps', p, { step, stepsPerEpoch: 10, epochs: 5 });
    expect(at(19)).toBe(0);
    expect(at(20)).toBeCloseTo(0.1, 12);
    expect(at(29)).toBeCloseTo(0.1, 12);
    expect(at(30)).toBeCloseTo(0.5, 12);
    expect(at(39)).toBeCloseTo(0.5, 12);
    expect(at(40)).toBeCloseTo(0.9, 12);
    expect(at(50)).toBeCloseTo(0.9, 12);
  });
  it('reaches value k at the end of epoch start_epoch + k - 1 for the original 20 steps over 20 epochs', () => {
    const p = spec({ start_epoch: 4, end_epoch: 23, end_sparsity: 0.995 });
    expect(sparsitySteps(p)).toHaveLength(20);
    const at = (epoch: number) => targetSparsity('steps', p, { epoch, epochs: 25 });
    expect(at(3)).toBe(0);
    expect(at(4)).toBeCloseTo(0.1, 12);
    expect(at(5)).toBeCloseTo(0.25, 12);
    expect(at(12)).toBeCloseTo(0.9, 12);
    expect(at(23)).toBeCloseTo(0.995, 12);
    expect(at(25)).toBeCloseTo(0.995, 12);
  });
  it('cuts the default list at end_sparsity and ends on it', () => {
    expect(sparsitySteps(spec({ end_sparsity: 0.9 }))).toEqual([0.1, 0.25, 0.5, 0.7, 0.75, 0.8, 0.84, 0.88, 0.9]);
    expect(sparsitySteps(spec({ end_sparsity: 0.85 })).slice(-2)).toEqual([0.84, 0.85]);
    expect(sparsitySteps(spec({ end_sparsity: 0.05 }))).toEqual([0.05]);
  });
});

describe('isPruningStep', () => {
  it('acts on multiples of the frequency inside the window and at every epoch end of the window', () => {
    const p = spec({ start_epoch: 2, end_epoch: 3 });
    const due = (step: number) => isPruningStep(p, { step, stepsPerEpoch: 10, epochs: 5 }, 4);
    expect([16, 10, 20, 22, 24, 28, 30, 32, 40].map(due)).toEqual([false, false, true, false, true, true, true, false, false]);
    // frequency 7 does not divide 30, yet the end of epoch 3 is a pruning step.
    expect(isPruningStep(p, { step: 30, stepsPerEpoch: 10, epochs: 5 }, 7)).toBe(true);
  });
});
