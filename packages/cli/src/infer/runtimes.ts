/** What can run `gbp infer`'s forward passes (see predictor.ts); apart so flag tables load nothing heavy. */
export const INFER_RUNTIMES = ['tfjs', 'onnx'] as const;
export type InferRuntime = (typeof INFER_RUNTIMES)[number];
