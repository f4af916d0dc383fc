export { resolveSearchSpace, largestArch, smallestArch, sampleArch, archConfig, archKey, SearchSpaceError, type SearchSpace, type SearchSpaceSpec, type SubnetArch } from './space.js';
export { LATENCY_FEATURES, latencyFeatures, fitLatencyModel, predictLatency, machineFingerprint, type LatencyModel, type LatencySample, type LatencyFit, type FitOptions } from './latency-model.js';
export { randomSearch, evolutionarySearch, checkBudget, SearchBudgetError, type SearchBudget, type Candidate, type SearchResult, type Fitness, type RandomSearchOptions, type EvolutionOptions } from './evolution.js';
export { structureImportance, rewire, type StructureImportance } from './rewire.js';
export { subnetLookup, subnetWeights } from './subnet.js';
export { sandwichGradients, type SandwichOptions, type SandwichStep } from './supernet.js';
export { latencyRequestOf, cachedLatencyModel, latencyModelFor, budgetMs, checkSearchBudget, measureLatency, type LatencyRequest } from './latency-cache.js';
