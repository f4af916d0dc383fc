/** `gbp info [-m SIZE ...]`: the model-info table for presets, or a preset with overrides. */
import { MODEL_SIZES, modelInfo, type ModelSize, type ModelSpec } from '@gbp/core';
import { helpText, INFO_FLAGS, parseFlags, UsageError } from '../args.js';
import type { CommandIO } from './io.js';
import { EXIT } from './run.js';
import { textTable } from './table.js';

export function infoCommand(argv: readonly string[], io: CommandIO): number {
  const { flags, positionals } = parseFlags(argv, INFO_FLAGS, 'gbp info');
  if (flags.help) {
    io.stdout.write(helpText('Usage: gbp info [-m SIZE ...] [overrides]', INFO_FLAGS, 'Parameter counts and shapes of model sizes (what gbp builds).'));
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`gbp info: unexpected argument ${positionals[0]}`);
  const sizes = (flags.modelSize ?? [...MODEL_SIZES]) as ModelSize[];
  const overrides = {
    ...(flags.numLayers !== undefined && { num_layers: flags.numLayers }),
    ...(flags.dModel !== undefined && { d_model: flags.dModel }),
    ...(flags.numHeads !== undefined && { num_heads: flags.numHeads }),
    ...(flags.dff !== undefined && { dff: flags.dff }),
    ...(flags.vocabSize !== undefined && { vocab_size: flags.vocabSize }),
    ...(flags.maxLen !== undefined && { max_len: flags.maxLen }),
  };
  const infos = sizes.map((size) => {
    const spec: ModelSpec = { size, ...overrides };
    if ((spec.d_model ?? 0) % (spec.num_heads ?? 1) !== 0 && spec.d_model && spec.num_heads) {
      throw new UsageError(`gbp info: --d-model ${spec.d_model} must be divisible by --num-heads ${spec.num_heads}`);
    }
    return modelInfo(spec);
  });
  if (flags.json) {
    io.stdout.write(`${JSON.stringify(infos, null, 2)}\n`);
    return EXIT.ok;
  }
  const rows = infos.map((i) => [
    i.model_size,
    i.num_layers,
    i.d_model,
    i.num_heads,
    i.dff,
    i.vocab_size,
    i.max_len,
    i.estimated_params_millions.toFixed(1),
    (i.num_gated_params / 1e6).toFixed(1),
  ]);
  io.stdout.write(`${textTable(['size', 'layers', 'hidden', 'heads', 'FFN', 'vocab', 'max len', 'params (M)', 'gated (M)'], rows)}\n`);
  if (Object.keys(overrides).length > 0) io.stdout.write(`overrides: ${JSON.stringify(overrides)}\n`);
  return EXIT.ok;
}
