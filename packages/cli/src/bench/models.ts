/** The models a bench measures, from core: a size preset with random weights, or a model folder. */
import { InferenceModel, resolveModelConfig, type ModelSize } from '@gbp/core';
import type { BenchModel } from './measure.js';

/** Seed of a preset's random weights: the same model every run. */
export const PRESET_SEED = 0;

export const presetModel = (size: ModelSize): BenchModel => InferenceModel.random(resolveModelConfig({ size }), PRESET_SEED);

export const loadModelFolder = (dir: string): Promise<BenchModel> => InferenceModel.fromFolder(dir);
