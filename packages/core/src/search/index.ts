export { resolveSearchSpace, largestArch, smallestArch, sampleArch, archConfig, archKey, SearchSpaceError, type SearchSpace, type SearchSpaceSpec, type SubnetArch } from './space.js';
export { LATENCY_FEATURES, latencyFeatures, fitLatencyModel, predictLatency, machineFingerprint, type LatencyModel, type LatencySample, type LatencyFit, type FitOptions } from './latency-model.js';
export { randomSearch, evolutionarySearch, checkBudget, SearchBudgetError, type SearchBudget, type Candidate, type SearchResult, type Fitness, type RandomSearchOptions, type EvolutionOptions } from './evolution.js';
export { structureImportance, rewire, type StructureImportance, type ImportanceBatch } from './rewire.js';
export { subnetLookup, subnetWeights } from './subnet.js';
export { sandwichGradients, sandwichArchs, sandwichPass, sandwichDropoutDraws, type SandwichOptions, type SandwichPassOptions, type SandwichStep } from './supernet.js';
export { evaluateSubnet, type SubnetEvalSet, type SubnetEvalOptions } from './evaluate.js';
