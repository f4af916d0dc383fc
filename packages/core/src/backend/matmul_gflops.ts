/**
 * Matmul throughput of the active backend, the yardstick for training efficiency
 * (achieved training GFLOP/s / large-matmul GFLOP/s, both measured in the same process).
 */
import { tf } from '../tf.js';

export interface MatmulBenchOptions {
  /** C[batch, m, n] = A[batch, m, k] · B[batch, k, n]; defaults 1024 x 1024 x 1024, batch 1 (2-D). */
  m?: number;
  k?: number;
  n?: number;
  batch?: number;
  /** Store A as [k, m] / B as [n, k] and pass the transpose flags, as tfjs's matMul gradient does. */
  transposeA?: boolean;
  transposeB?: boolean;
  /** Keep timing until this much time has passed (default 1000 ms) and at least `minIterations` (3). */
  minTimeMs?: number;
  minIterations?: number;
}

export interface MatmulBenchResult {
  backend: string;
  m: number;
  k: number;
  n: number;
  batch: number;
  transposeA: boolean;
  transposeB: boolean;
  iterations: number;
  msPerMatmul: number;
  gflops: number;
}

/** Times `tf.matMul` on random inputs (after one warm-up call) and returns GFLOP/s (2·batch·m·k·n per call). */
export async function measureMatmulGflops(options: MatmulBenchOptions = {}): Promise<MatmulBenchResult> {
  const { m = 1024, k = 1024, n = 1024, batch = 1, transposeA = false, transposeB = false } = options;
  const { minTimeMs = 1000, minIterations = 3 } = options;
  for (const [name, v] of Object.entries({ m, k, n, batch })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`measureMatmulGflops: ${name} must be a positive integer, got ${v}`);
  }
  const lead = batch > 1 ? [batch] : [];
  const a = tf.randomUniform([...lead, ...(transposeA ? [k, m] : [m, k])], -1, 1);
  const b = tf.randomUniform([...lead, ...(transposeB ? [n, k] : [k, n])], -1, 1);
  const run = async () => {
    const c = tf.matMul(a, b, transposeA, transposeB);
    // Reading one value waits for asynchronous backends (tfjs-node-gpu) without a full copy.
    const corner = c.slice(c.shape.map(() => 0), c.shape.map(() => 1));
    c.dispose();
    await corner.data();
    corner.dispose();
  };
  try {
    await run(); // warm-up: kernel setup, heap growth
    let iterations = 0;
    const start = performance.now();
    let elapsed = 0;
    while (iterations < minIterations || elapsed < minTimeMs) {
      await run();
      iterations++;
      elapsed = performance.now() - start;
    }
    const msPerMatmul = elapsed / iterations;
    const flops = 2 * batch * m * k * n;
    return {
      backend: tf.getBackend(),
      m, k, n, batch, transposeA, transposeB,
      iterations,
      msPerMatmul,
      gflops: flops / (msPerMatmul * 1e6),
    };
  } finally {
    a.dispose();
    b.dispose();
  }
}
