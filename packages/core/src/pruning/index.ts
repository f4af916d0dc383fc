// Public API of the pruning module: what every pruner shares (PrunerContext.helpers is this namespace).
export * from './schedule.js';
export * from './topk.js';
export * from './report.js';
export * from './masks.js';
