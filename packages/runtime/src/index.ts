// @gbp/runtime: run models exported by `gbp export --format tfjs` in Node and the browser (inference only).
export { TextClassifier, type Prediction, type LoadOptions, type ClassifyOptions } from './classifier.js';
export { BertTokenizer, parseVocabTxt, longestFirstLengths, type TokenizerSpec, type TextInput, type Encoding } from './tokenizer/bert-tokenizer.js';
export { bertNormalize, bertPreTokenize } from './tokenizer/normalize.js';
export { selectBackend, type BackendChoice, type BackendOptions, type RuntimeBackend } from './model/backend.js';
export { forwardLogits, type BatchInput } from './model/forward.js';
export { padBatch } from './model/batch.js';
export { RUNTIME_FORMAT, FORMAT_VERSION, MANIFEST_FILE, parseManifest, expectedWeights, type ModelManifest, type RuntimeModelConfig, type WeightEntry } from './format/manifest.js';
export { encodeExport, EXPORT_DTYPES, SHARD_BYTES, type ExportDtype, type ExportableModel, type EncodedExport } from './format/encode.js';
export type { ModelSource } from './format/source.js';
