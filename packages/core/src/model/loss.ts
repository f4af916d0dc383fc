/**
 * The training objectives, on logits: the task loss, and the distillation loss of Sanh et al.
 * (movement pruning) as the transformers movement-pruning example computes it:
 *   alpha * T² * KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) * task loss.
 * Both are sums over the rows (not means), so micro-batches add up; the caller divides by the
 * batch size.
 */
import { tf } from '../tf.js';

/**
 * Sum over the batch of per-example losses: softmax cross-entropy for classification, squared
 * error for regression (num_labels = 1). Summed, so micro-batches add up; divide by the batch size.
 */
export function lossSum(logits: tf.Tensor2D, labels: Float32Array, numLabels: number): tf.Scalar {
  if (numLabels === 1) {
    const diff = tf.sub(tf.reshape(logits, [-1]), tf.tensor1d(labels, 'float32'));
    return tf.sum(tf.square(diff));
  }
  const oneHot = tf.oneHot(tf.tensor1d(Int32Array.from(labels), 'int32'), numLabels);
  return tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits, -1), oneHot))) as tf.Scalar;
}

/** What a distilled batch is trained towards besides its labels. */
export interface DistillTarget {
  /** The teacher's logits for the same rows, row-major [B, numLabels]. */
  teacherLogits: Float32Array;
  /** Weight of the distillation term, in (0, 1]; the task loss gets 1 - alpha. */
  alpha: number;
  /** Softmax temperature T (classification only). */
  temperature: number;
}

/**
 * Sum over the batch of alpha * D + (1 - alpha) * task loss, where D is T² * KL(p || q) with
 * p = softmax(teacher/T), q = softmax(student/T) for classification (the T² keeps the gradient's
 * scale independent of T), and the squared error to the teacher's output for regression.
 * The teacher's logits are constants: no gradient flows to them.
 */
export function distillLossSum(logits: tf.Tensor2D, labels: Float32Array, numLabels: number, target: DistillTarget): tf.Scalar {
  const rows = logits.shape[0];
  if (target.teacherLogits.length !== rows * numLabels) {
    throw new Error(`distillation: ${target.teacherLogits.length} teacher logits for ${rows} rows of ${numLabels} labels (expected ${rows * numLabels})`);
  }
  const { alpha, temperature: T } = target;
  const teacher = tf.tensor2d(target.teacherLogits, [rows, numLabels], 'float32');
  const task = lossSum(logits, labels, numLabels);
  let distill: tf.Scalar;
  let weight: number;
  if (numLabels === 1) {
    distill = tf.sum(tf.square(tf.sub(logits, teacher)));
    weight = alpha;
  } else {
    // Both as log-softmax: a confident teacher's p underflows to 0 and contributes 0, never NaN.
    const logP = tf.logSoftmax(tf.div(teacher, T), -1);
    const logQ = tf.logSoftmax(tf.div(logits, T), -1);
    distill = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)));
    weight = alpha * T * T;
  }
  return tf.add(tf.mul(distill, weight), tf.mul(task, 1 - alpha));
}
