import { describe, expect, it } from 'vitest';
import { fakeClock, fakeModel } from '../../test/fixtures/fake-bench-model.js';
import { measure, type BenchProgress } from './measure.js';

describe('measure', () => {
  it('warms each target up, then runs every target once per round, interleaved, shape after shape', async () => {
    const clock = fakeClock();
    const targets = [
      { label: 'a', model: fakeModel(clock, 'a', 1) },
      { label: 'b', model: fakeModel(clock, 'b', 1) },
    ];
    await measure(targets, [{ batch: 1, seq: 8 }, { batch: 2, seq: 4 }], { repeats: 3, warmup: 2, now: clock.now });
    const shape = (s: string) => [`a ${s}`, `a ${s}`, `b ${s}`, `b ${s}`, ...Array.from({ length: 3 }, () => [`a ${s}`, `b ${s}`]).flat()];
    expect(clock.log).toEqual([...shape('1x8'), ...shape('2x4')]);
  });

  it('times only the rounds, each run including the read-back of its result', async () => {
    const clock = fakeClock();
    // Warm-up runs cost 1000 ms: none of that may reach the samples.
    const slowFirst = (cost: number) => (run: number) => (run <= 2 ? 1000 : cost * (run - 2));
    const targets = [
      { label: 'a', model: fakeModel(clock, 'a', slowFirst(10)) },
      { label: 'b', model: fakeModel(clock, 'b', slowFirst(5)) },
    ];
    const samples = await measure(targets, [{ batch: 1, seq: 8 }], { repeats: 3, warmup: 2, now: clock.now });
    expect(samples).toEqual([
      { target: 'a', shape: { batch: 1, seq: 8 }, ms: [10, 20, 30] },
      { target: 'b', shape: { batch: 1, seq: 8 }, ms: [5, 10, 15] },
    ]);
  });

  it('reports warm-up per target and each round with every target\'s time', async () => {
    const clock = fakeClock();
    const progress: BenchProgress[] = [];
    await measure([{ label: 'a', model: fakeModel(clock, 'a', 4) }, { label: 'b', model: fakeModel(clock, 'b', 2) }], [{ batch: 1, seq: 8 }], {
      repeats: 2,
      warmup: 1,
      now: clock.now,
      onProgress: (p) => progress.push(p),
    });
    const shape = { batch: 1, seq: 8 };
    expect(progress).toEqual([
      { phase: 'warmup', shape, target: 'a', runs: 1 },
      { phase: 'warmup', shape, target: 'b', runs: 1 },
      { phase: 'round', shape, round: 1, rounds: 2, ms: [{ target: 'a', ms: 4 }, { target: 'b', ms: 2 }] },
      { phase: 'round', shape, round: 2, rounds: 2, ms: [{ target: 'a', ms: 4 }, { target: 'b', ms: 2 }] },
    ]);
  });

  it('feeds every run of a target one synthetic batch of the shape: all positions real tokens, ids within its vocabulary', async () => {
    const clock = fakeClock();
    const seen: { inputIds: Int32Array; attentionMask: Float32Array; batchSize: number; seqLen: number }[] = [];
    const model = fakeModel(clock, 'a', 1);
    const spy = { ...model, logits: (input: (typeof seen)[number] & { typeIds: Int32Array }) => (seen.push(input), model.logits(input)) };
    await measure([{ label: 'a', model: spy }], [{ batch: 2, seq: 5 }], { repeats: 2, warmup: 1, now: clock.now });
    expect(seen).toHaveLength(3);
    const first = seen[0]!;
    expect(first.inputIds).toHaveLength(10);
    expect([...first.attentionMask]).toEqual(Array(10).fill(1));
    expect([...first.inputIds].every((id) => id >= 0 && id < 100)).toBe(true);
    expect(new Set(first.inputIds).size).toBeGreaterThan(1);
    expect(seen.every((input) => input === first)).toBe(true);
  });

  it('stops between runs when its signal is aborted', async () => {
    const clock = fakeClock();
    const controller = new AbortController();
    const model = fakeModel(clock, 'a', 1);
    const stopping = { ...model, logits: (input: Parameters<typeof model.logits>[0]) => (clock.log.length === 2 && controller.abort(new Error('stop')), model.logits(input)) };
    await expect(measure([{ label: 'a', model: stopping }], [{ batch: 1, seq: 8 }], { repeats: 5, warmup: 1, now: clock.now, signal: controller.signal })).rejects.toThrow('stop');
    expect(clock.log).toHaveLength(3);
  });
});
