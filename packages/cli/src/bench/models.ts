/**
 * The models a bench measures, from core: a size preset with random weights, or a model folder.
 * PLACEHOLDER until core's InferenceModel lands (engineer B): presets run GatedBert with its masks;
 * folders are recognised by config.json but cannot be loaded yet.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelInfo, resolveModelConfig, type ModelSize } from '@gbp/core';
import { GatedBert } from '@gbp/core/internal';
import type { BenchModel } from './measure.js';

/** Seed of a preset's random weights: the same model every run. */
export const PRESET_SEED = 0;

export function isModelFolder(dir: string): boolean {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { format?: unknown }).format === 'gbp-model';
  } catch {
    return false;
  }
}

export function presetModel(size: ModelSize): BenchModel {
  const config = resolveModelConfig({ size });
  const model = new GatedBert(config, { seed: PRESET_SEED });
  const numParams = modelInfo(config).num_params;
  return {
    config,
    numParams,
    weightBytes: numParams * 4,
    logits: (input) => model.logits(input, { training: false }),
    dispose: () => model.dispose(),
  };
}

export function loadModelFolder(dir: string): Promise<BenchModel> {
  return Promise.reject(new Error(`${dir}: loading model folders needs core's InferenceModel (not merged yet)`));
}
