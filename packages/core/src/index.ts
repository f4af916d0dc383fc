// First: a second copy of core must stop before it loads its own TensorFlow.js.
import './single-copy.js';
export { DuplicateCoreError } from './single-copy.js';
export { tf } from './tf.js';
export * from './spec.js';
export * from './events.js';
export * from './rng.js';
export * from './hooks/index.js';
export * from './backend/index.js';
export * from './model/index.js';
export * from './data/index.js';
export * from './train/index.js';
export * from './pruning/index.js';
export * from './results/index.js';
export * from './job.js';
