export { ReplicaPool, ReplicaError, type ReplicaBackend } from './replica-pool.js';
export { THREADS_ENV, defaultThreads, resolveThreads, REPLICA_BACKENDS, type ThreadsChoice } from './threads.js';
export { shardRows, type MicroBatch } from './micro-batches.js';
