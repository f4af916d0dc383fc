/** `gbp info [-m SIZE ... | --from MODEL ...]`: the model-info table for presets (with overrides) or pretrained models. */
import { absoluteModelRef, MODEL_SIZES, modelInfo, readModelConfig, type ModelInfo, type ModelSize, type ModelSpec } from '@gbp/core';
import { helpText, INFO_FLAGS, parseFlags, UsageError } from '../args.js';
import type { CommandIO } from './io.js';
import { EXIT } from './run.js';
import { textTable } from './table.js';

export async function infoCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const { flags, positionals } = parseFlags(argv, INFO_FLAGS, 'gbp info');
  if (flags.help) {
    io.stdout.write(
      helpText(
        'Usage: gbp info [-m SIZE ...] [overrides] | gbp info --from MODEL ... [--num-labels N] [--max-len N]',
        INFO_FLAGS,
        'Parameter counts and shapes of model sizes, or of pretrained models (what gbp builds from them; the count is transformers\' for BertForSequenceClassification).',
      ),
    );
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
  const infos =
    flags.from !== undefined
      ? await pretrainedInfos(flags.from, { modelSize: flags.modelSize, numLabels: flags.numLabels, overrides, cwd: io.cwd })
      : presetInfos(sizes, overrides);
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
    // A pretrained model's exact count, comparable with transformers' num_parameters().
    ...(flags.from !== undefined ? [i.num_params.toLocaleString('en-US')] : []),
  ]);
  const header = ['size', 'layers', 'hidden', 'heads', 'FFN', 'vocab', 'max len', 'params (M)', 'gated (M)', ...(flags.from !== undefined ? ['params'] : [])];
  if (flags.from !== undefined) header[0] = 'model';
  io.stdout.write(`${textTable(header, rows)}\n`);
  if (Object.keys(overrides).length > 0) io.stdout.write(`overrides: ${JSON.stringify(overrides)}\n`);
  return EXIT.ok;
}

type Overrides = Partial<Pick<ModelSpec, 'num_layers' | 'd_model' | 'num_heads' | 'dff' | 'vocab_size' | 'max_len'>>;

function presetInfos(sizes: readonly ModelSize[], overrides: Overrides): ModelInfo[] {
  return sizes.map((size) => {
    const spec: ModelSpec = { size, ...overrides };
    if ((spec.d_model ?? 0) % (spec.num_heads ?? 1) !== 0 && spec.d_model && spec.num_heads) {
      throw new UsageError(`gbp info: --d-model ${spec.d_model} must be divisible by --num-heads ${spec.num_heads}`);
    }
    return modelInfo(spec);
  });
}

/** The shape is the checkpoint's: only --max-len (within its limit) and --num-labels apply. */
async function pretrainedInfos(refs: readonly string[], o: { modelSize: readonly string[] | undefined; numLabels: number | undefined; overrides: Overrides; cwd: string }): Promise<ModelInfo[]> {
  const shape = Object.keys(o.overrides).filter((k) => k !== 'max_len');
  if (o.modelSize !== undefined || shape.length > 0) {
    const given = o.modelSize !== undefined ? '-m' : shape.map((k) => `--${k.replace(/_/g, '-')}`).join(', ');
    throw new UsageError(`gbp info: --from gives the shape; it cannot be combined with ${given}`);
  }
  const infos: ModelInfo[] = [];
  for (const ref of refs) {
    const { config } = await readModelConfig(absoluteModelRef(ref, o.cwd), o.numLabels !== undefined ? { numLabels: o.numLabels } : {});
    const maxLen = o.overrides.max_len;
    if (maxLen !== undefined && maxLen > config.max_len) throw new UsageError(`gbp info: --max-len ${maxLen} is longer than ${ref} allows (${config.max_len})`);
    infos.push({ ...modelInfo({ ...config, ...(maxLen !== undefined && { max_len: maxLen }) }), model_size: ref });
  }
  return infos;
}
