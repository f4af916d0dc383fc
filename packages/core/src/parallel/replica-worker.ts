/**
 * A replica: a worker thread with its own TF.js backend (its own wasm heap) that computes gradients
 * of a shard of the batch, or logits of a batch, at the weights the job's thread last published.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend/init.js';
import { parameterSpecs } from '../model/config.js';
import { forwardOutputs, lossAndGradientsAt } from '../model/encoder.js';
import { lossSum } from '../model/loss.js';
import { tf } from '../tf.js';
import { accumulateGradients } from './accumulate.js';
import { sandwichMicroBatch } from '../search/supernet.js';
import { tensorFromShared, valuesToCopy } from './host-arrays.js';
import { paramLayout, paramView } from './layout.js';
import type { ReplicaInit, ReplicaReply, ReplicaRequest } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('replica-worker runs as a worker thread (new Worker), not as a script');
const init = workerData as ReplicaInit;
const specs = parameterSpecs(init.config);
const layout = paramLayout(specs);
const indexOf = new Map(specs.map((s, i) => [s.name, i]));
const weights = new Float32Array(init.weights);
const grads = new Float32Array(init.grads);
let values: tf.Tensor[] = [];
let version = -1;

/** Uploads the shared weights when they changed since the last request (copies: the job's thread rewrites them). */
function useWeights(wanted: number): void {
  if (wanted === version) return;
  tf.dispose(values);
  values = specs.map((spec, i) => tensorFromShared(paramView(weights, layout, i), spec.shape));
  version = wanted;
}

function handle(request: ReplicaRequest): ReplicaReply {
  useWeights(request.version);
  if (request.kind === 'gradients') {
    const { archs } = request;
    const { loss, grads: sums } = accumulateGradients(request.micros, (micro, dropoutSeed) =>
      archs
        ? sandwichMicroBatch({ config: init.config, specs, value: (i) => values[i]! }, archs, micro, dropoutSeed, request.divisor)
        : lossAndGradientsAt(init.config, specs, values, micro.batch, {
            training: true,
            dropoutSeed,
            divisor: request.divisor,
            ...(micro.distill && { distill: micro.distill }),
          }),
    );
    sums.forEach((g, i) => paramView(grads, layout, i).set(valuesToCopy(g)));
    tf.dispose(sums);
    return { kind: 'gradients', id: request.id, loss };
  }
  const outputs = tf.tidy(() => {
    const out = forwardOutputs(init.config, (name) => values[indexOf.get(name)!]!, request.input, { training: false });
    return { logits: out.logits, ...(request.pooled && { pooled: out.pooled }), ...(request.labels && { loss: lossSum(out.logits, request.labels, init.config.num_labels) }) };
  });
  try {
    // Copies of their own: their buffers are transferred to the job's thread.
    return {
      kind: 'logits',
      id: request.id,
      logits: new Float32Array(outputs.logits.dataSync()),
      ...(outputs.pooled && { pooled: new Float32Array(outputs.pooled.dataSync()) }),
      ...(outputs.loss && { lossSum: outputs.loss.dataSync()[0]! }),
    };
  } finally {
    tf.dispose(outputs);
  }
}

try {
  await initBackend(init.backend);
  port.on('message', (request: ReplicaRequest) => {
    let reply: ReplicaReply;
    try {
      reply = handle(request);
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      reply = { kind: 'error', id: request.id, message: e.message, ...(e.stack !== undefined && { stack: e.stack }) };
    }
    port.postMessage(reply, reply.kind === 'logits' ? [reply.logits, ...(reply.pooled ? [reply.pooled] : [])].map((a) => a.buffer as ArrayBuffer) : []);
  });
  port.postMessage({ kind: 'ready' } satisfies ReplicaReply);
} catch (error) {
  const e = error instanceof Error ? error : new Error(String(error));
  port.postMessage({ kind: 'error', message: `replica failed to start: ${e.message}`, ...(e.stack !== undefined && { stack: e.stack }) } satisfies ReplicaReply);
}
