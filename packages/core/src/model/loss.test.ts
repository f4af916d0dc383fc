/**
 * The distillation loss against a hand computation in float64, its gradient with respect to the
 * student's logits against finite differences of that computation, and alpha = 0 against the task
 * loss bit for bit (values and the model's gradients), on wasm and cpu.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { initBackend } from '../backend/index.js';
import { Rng } from '../rng.js';
import { makeBatches, type EncodedExample } from '../data/index.js';
import { distillLossSum, lossSum } from './loss.js';
import { GatedBert, lossAndGradients } from './encoder.js';
import { resolveModelConfig } from './config.js';

const logSoftmax = (row: readonly number[]) => {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
  return row.map((v) => v - lse);
};

/** The loss of the brief, written out per example in float64. */
function handLoss(student: number[][], teacher: number[][], labels: number[], alpha: number, T: number): number {
  let total = 0;
  student.forEach((s, i) => {
    const t = teacher[i]!;
    if (s.length === 1) {
      total += alpha * (s[0]! - t[0]!) ** 2 + (1 - alpha) * (s[0]! - labels[i]!) ** 2;
      return;
    }
    const logP = logSoftmax(t.map((v) => v / T));
    const logQ = logSoftmax(s.map((v) => v / T));
    const kl = logP.reduce((acc, lp, j) => acc + Math.exp(lp) * (lp - logQ[j]!), 0);
    const ce = -logSoftmax(s)[labels[i]!]!;
    total += alpha * T * T * kl + (1 - alpha) * ce;
  });
  return total;
}

const STUDENT = [
  [0.3, -1.2, 2.0],
  [1.5, 0.1, -0.4],
  [-2.0, 0.7, 0.2],
];
const TEACHER = [
  [1.0, -0.5, 3.5],
  [0.2, 0.9, -1.1],
  [-8.0, 9.0, 0.5], // a confident teacher: p of class 0 is tiny
];
const LABELS = [2, 0, 1];

const tfLoss = (student: number[][], teacher: number[][], labels: number[], alpha: number, temperature: number) =>
  tf.tidy(() => {
    const n = student[0]!.length;
    const logits = tf.tensor2d(student.flat(), [student.length, n]);
    const target = { teacherLogits: Float32Array.from(teacher.flat()), alpha, temperature };
    const f = (x: tf.Tensor) => distillLossSum(x as tf.Tensor2D, Float32Array.from(labels), n, target);
    const { value, grad } = tf.valueAndGrad(f)(logits);
    return { value: value.dataSync()[0]!, grad: Array.from(grad.dataSync()) };
  });

describe.each(['wasm', 'cpu'] as const)('distillLossSum (%s)', (backend) => {
  it.each([
    [0.5, 1],
    [0.9, 2],
    [1, 4],
    [0.3, 0.5],
  ])('equals alpha·T²·KL(p‖q) + (1−alpha)·CE summed over the rows, alpha %s, T %s; its gradient matches finite differences', async (alpha, T) => {
    await initBackend(backend);
    const { value, grad } = tfLoss(STUDENT, TEACHER, LABELS, alpha, T);
    const expected = handLoss(STUDENT, TEACHER, LABELS, alpha, T);
    expect(Math.abs(value - expected)).toBeLessThan(1e-5 * Math.max(1, Math.abs(expected)));
    const h = 1e-5;
    STUDENT.forEach((row, i) =>
      row.forEach((_, j) => {
        const shifted = (delta: number) => STUDENT.map((r, a) => r.map((v, b) => (a === i && b === j ? v + delta : v)));
        const numeric = (handLoss(shifted(h), TEACHER, LABELS, alpha, T) - handLoss(shifted(-h), TEACHER, LABELS, alpha, T)) / (2 * h);
        expect(Math.abs(grad[i * row.length + j]! - numeric), `d/dlogit[${i}][${j}]`).toBeLessThan(1e-4);
      }),
    );
  });

  it('regression (one output): alpha·(s − teacher)² + (1 − alpha)·(s − label)², temperature unused', async () => {
    await initBackend(backend);
    const student = [[0.5], [2.0], [-1.0]];
    const teacher = [[1.0], [1.5], [0.0]];
    const labels = [0.8, 3.0, -0.5];
    for (const T of [1, 3]) {
      const { value, grad } = tfLoss(student, teacher, labels, 0.7, T);
      expect(value).toBeCloseTo(handLoss(student, teacher, labels, 0.7, T), 5);
      // d/ds = 2·alpha·(s − t) + 2·(1 − alpha)·(s − y)
      grad.forEach((g, i) => expect(g).toBeCloseTo(2 * 0.7 * (student[i]![0]! - teacher[i]![0]!) + 2 * 0.3 * (student[i]![0]! - labels[i]!), 5));
    }
  });

  it('a teacher equal to the student adds nothing: the gradient is (1 − alpha) times the task gradient', async () => {
    await initBackend(backend);
    const mixed = tfLoss(STUDENT, STUDENT, LABELS, 0.6, 2);
    const task = tfLoss(STUDENT, STUDENT, LABELS, 1e-30, 2); // alpha → 0: the task loss alone
    mixed.grad.forEach((g, i) => expect(g).toBeCloseTo(0.4 * task.grad[i]!, 5));
  });

  it('refuses teacher logits of another size, saying how many it expected', async () => {
    await initBackend(backend);
    const logits = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    expect(() => distillLossSum(logits, Float32Array.from([0, 1]), 2, { teacherLogits: new Float32Array(6), alpha: 0.5, temperature: 1 })).toThrow(
      'distillation: 6 teacher logits for 2 rows of 2 labels (expected 4)',
    );
    logits.dispose();
  });

  it('alpha = 0 is the task loss bit for bit: the loss and every gradient of the model', async () => {
    await initBackend(backend);
    const labels = Float32Array.from(LABELS);
    const logits = tf.tensor2d(STUDENT.flat(), [3, 3]);
    const plain = lossSum(logits, labels, 3).dataSync()[0];
    const zero = distillLossSum(logits, labels, 3, { teacherLogits: Float32Array.from(TEACHER.flat()), alpha: 0, temperature: 2 }).dataSync()[0];
    expect(zero).toBe(plain);
    logits.dispose();

    const config = resolveModelConfig({ size: 'tiny', num_layers: 1, d_model: 16, num_heads: 2, dff: 32, vocab_size: 30, max_len: 8, dropout_rate: 0 }, 3);
    const model = new GatedBert(config, { seed: 1 });
    const rng = new Rng(4);
    const examples: EncodedExample[] = Array.from({ length: 6 }, (_, i) => {
      const len = 3 + rng.int(5);
      return { ids: Int32Array.from({ length: len }, () => 1 + rng.int(29)), typeIds: new Int32Array(len), label: i % 3 };
    });
    const batch = makeBatches(examples, 6, { padId: 0 })[0]!;
    const teacherLogits = Float32Array.from({ length: 18 }, () => 4 * rng.next() - 2);
    const a = lossAndGradients(model, batch, { training: false, divisor: 6 });
    const b = lossAndGradients(model, batch, { training: false, divisor: 6, distill: { teacherLogits, alpha: 0, temperature: 2 } });
    expect(b.value.dataSync()[0]).toBe(a.value.dataSync()[0]);
    a.grads.forEach((g, i) => expect(b.grads[i]!.dataSync(), model.specs[i]!.name).toEqual(g.dataSync()));
    tf.dispose([a.value, b.value, ...a.grads, ...b.grads]);
    model.dispose();
  });
});
