// @gbp/runtime: inference-only runtime for models exported by `gbp export --format tfjs` (being written, issue 11).
export const RUNTIME_FORMAT = 'gbp-tfjs';
