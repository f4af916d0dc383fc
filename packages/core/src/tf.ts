/**
 * The one TensorFlow.js instance gbp uses. Plugins import `tf` from '@gbp/core' so that their ops
 * run on the same engine, backend and tensor registry as the trainer.
 */
// tfjs-core's Node bundle registers no gradients; the umbrella package does, once, on import.
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';

export { tf };
