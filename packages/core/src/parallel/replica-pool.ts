/**
 * The job's side of data parallelism: N replicas on worker threads, fed the current weights through
 * shared memory. The job's own thread computes one shard as well, so `threads` = replicas + 1.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parameterSpecs, type ModelConfig } from '../model/config.js';
import type { ModelInput } from '../model/encoder.js';
import type { SubnetArch } from '../search/space.js';
import type { MicroBatch } from './micro-batches.js';
import { paramLayout, paramView, sharedParams, type ParamLayout } from './layout.js';
import type { ReplicaInit, ReplicaReply, ReplicaRequest } from './protocol.js';

export type ReplicaBackend = ReplicaInit['backend'];

/** A replica failed (it threw, ran out of memory, or exited); the message says which and why. */
export class ReplicaError extends Error {
  override name = 'ReplicaError';
}

interface Pending {
  resolve: (reply: ReplicaReply) => void;
  reject: (error: Error) => void;
}

class Replica {
  readonly grads: Float32Array;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;

  constructor(
    readonly index: number,
    private readonly worker: Worker,
    grads: SharedArrayBuffer,
  ) {
    this.grads = new Float32Array(grads);
    worker.on('message', (reply: ReplicaReply) => {
      if (reply.kind === 'ready') return;
      const id = 'id' in reply ? reply.id : undefined;
      const waiting = id === undefined ? undefined : this.pending.get(id);
      if (reply.kind === 'error') {
        const error = new ReplicaError(`thread ${index + 2}: ${reply.message}`);
        if (reply.stack) error.stack = `${error.name}: ${error.message}\n(in the replica) ${reply.stack}`;
        if (waiting) {
          this.pending.delete(id!);
          waiting.reject(error);
        } else this.fail(error);
        return;
      }
      if (waiting && id !== undefined) {
        this.pending.delete(id);
        waiting.resolve(reply);
      }
    });
    worker.on('error', (error) => this.fail(new ReplicaError(`thread ${index + 2} crashed: ${error.message}`)));
    worker.on('exit', (code) => this.fail(new ReplicaError(`thread ${index + 2} exited (code ${code})`)));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  request(message: ReplicaRequest): Promise<ReplicaReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject });
      this.worker.postMessage(message);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new ReplicaError('the thread pool was closed');
    await this.worker.terminate();
  }
}

/**
 * Where the worker's code is: the compiled module next to this one, or, when this module runs from
 * its TypeScript source (tests), a loader that compiles the source with tsx.
 */
function replicaEntry(): { url: URL; execArgv?: string[] } {
  const self = import.meta.url;
  if (self.endsWith('.ts')) return { url: new URL('./replica-worker.dev.mjs', self) };
  return { url: new URL('./replica-worker.js', self) };
}

export class ReplicaPool {
  private nextId = 0;
  private version = 0;
  private readonly weights: Float32Array;

  private constructor(
    readonly config: ModelConfig,
    readonly layout: ParamLayout,
    private readonly replicas: readonly Replica[],
    weights: SharedArrayBuffer,
  ) {
    this.weights = new Float32Array(weights);
  }

  /** Starts `count` replicas of a model of `config` on `backend`; resolves when every one is ready. */
  static async start(options: { config: ModelConfig; backend: ReplicaBackend; count: number }): Promise<ReplicaPool> {
    const layout = paramLayout(parameterSpecs(options.config));
    const weights = sharedParams(layout).buffer as SharedArrayBuffer;
    const entry = replicaEntry();
    const started = await Promise.allSettled(
      Array.from({ length: options.count }, async (_, index) => {
        const grads = sharedParams(layout).buffer as SharedArrayBuffer;
        const init: ReplicaInit = { config: options.config, backend: options.backend, weights, grads };
        const worker = new Worker(fileURLToPath(entry.url), { workerData: init, ...(entry.execArgv && { execArgv: entry.execArgv }) });
        await waitReady(worker, index);
        return new Replica(index, worker, grads);
      }),
    );
    const replicas = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(replicas.map((r) => r.close()));
      throw failed.reason;
    }
    return new ReplicaPool(options.config, layout, replicas, weights);
  }

  /** Replicas (threads besides the caller's). */
  get size(): number {
    return this.replicas.length;
  }

  /** Publishes the weights every later request uses: `value(i)` gives parameter i's floats (for a gated weight, W ⊙ M). */
  publish(value: (index: number) => Float32Array): void {
    for (let i = 0; i < this.layout.names.length; i++) {
      const data = value(i);
      const view = paramView(this.weights, this.layout, i);
      if (data.length !== view.length) throw new Error(`internal: parameter ${this.layout.names[i]} has ${data.length} values, expected ${view.length}`);
      view.set(data);
    }
    this.version += 1;
  }

  /** Replica r's summed gradients of `micros` (divided by `divisor`), left in its gradient buffer; resolves to the loss. */
  async gradients(r: number, micros: readonly MicroBatch[], divisor: number, archs?: readonly SubnetArch[]): Promise<number> {
    const reply = await this.replica(r).request({ kind: 'gradients', id: this.nextId++, version: this.version, micros, divisor, ...(archs && { archs }) });
    if (reply.kind !== 'gradients') throw new ReplicaError(`internal: thread ${r + 2} answered ${reply.kind} to gradients`);
    return reply.loss;
  }

  /** Parameter i of replica r's last gradient sum (a view into shared memory, valid until its next request). */
  gradientOf(r: number, i: number): Float32Array {
    return paramView(this.replica(r).grads, this.layout, i);
  }

  /** Logits of `input` on replica r, with the loss sum when `labels` are given and the pooled output when asked. */
  async logits(r: number, input: ModelInput, options: { labels?: Float32Array; pooled?: boolean } = {}): Promise<{ logits: Float32Array; lossSum?: number; pooled?: Float32Array }> {
    const request: ReplicaRequest = {
      kind: 'logits',
      id: this.nextId++,
      version: this.version,
      input: { inputIds: input.inputIds, typeIds: input.typeIds, attentionMask: input.attentionMask, batchSize: input.batchSize, seqLen: input.seqLen },
      ...(options.labels && { labels: options.labels }),
      ...(options.pooled && { pooled: true }),
    };
    const reply = await this.replica(r).request(request);
    if (reply.kind !== 'logits') throw new ReplicaError(`internal: thread ${r + 2} answered ${reply.kind} to logits`);
    return { logits: reply.logits, ...(reply.lossSum !== undefined && { lossSum: reply.lossSum }), ...(reply.pooled && { pooled: reply.pooled }) };
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.close()));
  }

  private replica(r: number): Replica {
    const replica = this.replicas[r];
    if (replica === undefined) throw new Error(`internal: no replica ${r} (the pool has ${this.replicas.length})`);
    return replica;
  }
}

function waitReady(worker: Worker, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: ReplicaReply) => {
      if (reply.kind === 'ready') {
        cleanup();
        resolve();
      } else if (reply.kind === 'error') {
        cleanup();
        void worker.terminate();
        reject(new ReplicaError(`thread ${index + 2}: ${reply.message}`));
      }
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new ReplicaError(`thread ${index + 2} failed to start: ${error.message}`));
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new ReplicaError(`thread ${index + 2} exited while starting (code ${code})`));
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
