// The pruning module: what every pruner shares. Plugins reach it through PrunerContext.helpers
// (PrunerHelpers, helpers.ts); core and benchmarks import the functions from here.
export * from './schedule.js';
export * from './topk.js';
export * from './report.js';
export * from './masks.js';
export { PRUNER_HELPERS, prunerHelpers, type HelperBinding, type PrunerHelpers } from './helpers.js';
export { granularityOf, type GateLayout, type Granularity } from './groups.js';
