/**
 * Messages between a job's thread and its replicas (worker threads, each with its own TF.js backend
 * and a copy of the weights). Weights travel through one SharedArrayBuffer all replicas read, each
 * replica's gradient sum through its own; messages carry batches and small results.
 */
import type { Batch } from '../data/index.js';
import type { ModelConfig } from '../model/config.js';
import type { ModelInput } from '../model/encoder.js';
import type { MicroBatch } from './micro-batches.js';
import type { SubnetArch } from '../search/space.js';

/** A replica's workerData. */
export interface ReplicaInit {
  readonly config: ModelConfig;
  /** The TF.js backend the job runs on (wasm or cpu). */
  readonly backend: 'wasm' | 'cpu';
  readonly weights: SharedArrayBuffer;
  readonly grads: SharedArrayBuffer;
}

export type ReplicaRequest =
  /** The weights in the shared buffer changed; `version` names them. */
  /** With `archs`, a sandwich step's shard: those sub-networks on every micro-batch (search/supernet.ts). */
  | { readonly kind: 'gradients'; readonly id: number; readonly version: number; readonly micros: readonly MicroBatch[]; readonly divisor: number; readonly archs?: readonly SubnetArch[] }
  | { readonly kind: 'logits'; readonly id: number; readonly version: number; readonly input: ModelInput; readonly labels?: Float32Array; readonly pooled?: boolean };

export type ReplicaReply =
  | { readonly kind: 'ready' }
  /** The shard's summed gradients are in this replica's gradient buffer. */
  | { readonly kind: 'gradients'; readonly id: number; readonly loss: number }
  /** Logits [rows, num_labels] row-major; the loss sum when labels were sent; the pooled output [rows, d] when asked. */
  | { readonly kind: 'logits'; readonly id: number; readonly logits: Float32Array; readonly lossSum?: number; readonly pooled?: Float32Array }
  | { readonly kind: 'error'; readonly id?: number; readonly message: string; readonly stack?: string };

export type { Batch };
