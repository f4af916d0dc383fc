/**
 * The job spec: everything one training job needs, as a JSON Schema (TypeBox) from which the
 * TypeScript type is derived. It is the single source for the CLI's pipeline schema too
 * (defaults and matrix entries are partial job specs), so the two cannot drift.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const MODEL_SIZES = ['tiny', 'small', 'base', 'large'] as const;
export const TASK_NAMES = ['sst2', 'mnli', 'qnli', 'rte', 'wnli', 'mrpc', 'cola', 'stsb'] as const;
export const BACKEND_NAMES = ['auto', 'wasm', 'cpu', 'tensorflow', 'cuda', 'webgpu'] as const;
/** What pruning removes: single weights, blocks of a matrix, or whole attention heads and FFN neurons. */
export const GRANULARITIES = ['weight', 'block', 'structured'] as const;
export type GranularityName = (typeof GRANULARITIES)[number];

const literals = <T extends readonly string[]>(values: T, options: Record<string, unknown> = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as unknown as TSchema & { static: T[number] };

const PositiveInt = (description: string, extra: Record<string, unknown> = {}) =>
  Type.Integer({ minimum: 1, description, ...extra });
const Fraction = (description: string, extra: Record<string, unknown> = {}) =>
  Type.Number({ minimum: 0, maximum: 1, description, ...extra });

export const ModelSize = literals(MODEL_SIZES, { description: 'Size preset (see the design table).' });
export type ModelSize = (typeof MODEL_SIZES)[number];
export const TaskName = literals(TASK_NAMES, { description: 'GLUE task.' });
export type TaskName = (typeof TASK_NAMES)[number];
export const BackendName = literals(BACKEND_NAMES, {
  description: 'TF.js backend: auto tries cuda, then tensorflow, then wasm; webgpu (Dawn, needs a GPU) only when requested.',
});
export type BackendName = (typeof BACKEND_NAMES)[number];

export const ModelSpecSchema = Type.Object(
  {
    size: Type.Optional(ModelSize),
    from: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Start from a pretrained model: a Hugging Face Hub id (org/name or org/name@revision), a Hugging Face checkpoint folder (config.json with model.safetensors or pytorch_model.bin), a gbp model folder or a job folder. Its config gives the shape (size and shape overrides are refused; max_len and dropout_rate may be set within its limits) and its vocab.txt or tokenizer.json the tokenizer.',
      }),
    ),
    num_layers: Type.Optional(PositiveInt('Encoder layers (overrides the preset).')),
    d_model: Type.Optional(PositiveInt('Hidden size; must be divisible by num_heads.')),
    num_heads: Type.Optional(PositiveInt('Attention heads.')),
    dff: Type.Optional(PositiveInt('Feed-forward inner size.')),
    vocab_size: Type.Optional(PositiveInt('Vocabulary size (also the size of a trained WordPiece vocabulary).')),
    max_len: Type.Optional(PositiveInt('Maximum sequence length in tokens; longer inputs are truncated.')),
    dropout_rate: Type.Optional(Fraction('Dropout on embeddings, attention probabilities and residual branches.')),
  },
  { additionalProperties: false, description: 'A size preset plus any overrides, or a pretrained model (from) with max_len and dropout_rate.' },
);
export type ModelSpec = Static<typeof ModelSpecSchema>;

export const DistillSpecSchema = Type.Object(
  {
    teacher: Type.String({
      minLength: 1,
      description:
        'The teacher: a gbp model folder or a job folder (its model/); in a pipeline also a stage listed in needs (each job takes the model of the job with the same values on that stage\'s matrix axes). A path in a pipeline is relative to the pipeline file.',
    }),
    alpha: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.9,
      description: 'Weight of the distillation term; the task loss gets 1 - alpha.',
    }),
    temperature: Type.Number({
      exclusiveMinimum: 0,
      default: 2,
      description: 'Softmax temperature T of teacher and student in the distillation term, which is scaled by T^2 (unused for regression, where the term is the squared error to the teacher).',
    }),
  },
  {
    additionalProperties: false,
    description:
      "Knowledge distillation (Sanh et al.): loss per example = alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) * task loss. The teacher's logits are computed once before training, dropout off. train_loss reports this objective; eval_loss stays the task loss.",
  },
);
export type DistillSpec = Static<typeof DistillSpecSchema>;

export const TrainSpecSchema = Type.Object(
  {
    epochs: PositiveInt('Training epochs.', { default: 3 }),
    batch_size: PositiveInt('Examples per optimizer step.', { default: 32 }),
    micro_batch_size: Type.Optional(
      PositiveInt('Examples per forward/backward pass; gradients are accumulated up to batch_size. Default: batch_size, or less where memory requires.'),
    ),
    eval_batch_size: Type.Optional(PositiveInt('Examples per evaluation pass. Default: batch_size, or less where memory requires.')),
    threads: Type.Optional(
      PositiveInt(
        'Threads for this job on the wasm and cpu backends: each step is split into one shard of rows per thread (replicas on worker threads; ' +
          'the same count always gives the same results; another count changes them by float rounding). ' +
          'Default: GBP_THREADS, else every core (gbp run gives each of its parallel jobs an equal share).',
      ),
    ),
    learning_rate: Type.Number({ exclusiveMinimum: 0, default: 5e-4, description: 'Peak learning rate of AdamW.' }),
    weight_decay: Type.Number({ minimum: 0, default: 0.01, description: 'Decoupled weight decay (not applied to biases, LayerNorm).' }),
    warmup_ratio: Fraction('Fraction of all steps spent warming up linearly from 0.', { default: 0.1 }),
    max_grad_norm: Type.Number({ minimum: 0, default: 1.0, description: 'Global gradient-norm clip; 0 disables.' }),
    seed: Type.Integer({ default: 42, description: 'Seed for init, dropout and shuffling.' }),
    max_train_examples: Type.Optional(PositiveInt('Use only the first N training examples (a slice, for quick runs).')),
    max_eval_examples: Type.Optional(PositiveInt('Evaluate on only the first N examples of each eval split.')),
    checkpoint_every_epoch: Type.Boolean({ default: true, description: 'Write a checkpoint after every epoch.' }),
    distill: Type.Optional(DistillSpecSchema),
  },
  { additionalProperties: false },
);
export type TrainSpec = Static<typeof TrainSpecSchema>;

export const PruningSpecSchema = Type.Object(
  {
    start_sparsity: Fraction('Sparsity at start_epoch.', { default: 0 }),
    end_sparsity: Fraction('Target sparsity at end_epoch (fraction of gated weights removed).', { default: 0.9 }),
    start_epoch: Type.Integer({ minimum: 1, default: 1, description: 'First epoch (1-based) of the pruning window.' }),
    end_epoch: Type.Integer({ minimum: 1, default: 2, description: 'Last epoch (1-based) of the pruning window; capped to epochs.' }),
    sparsity_steps: Type.Optional(
      Type.Array(Type.Number({ minimum: 0, maximum: 100 }), {
        minItems: 1,
        description: 'Percentages for the steps schedule, spread over the pruning window.',
      }),
    ),
    // Optional in the type (specs written before granularity existed stay valid); defaults fill them.
    granularity: Type.Optional(
      literals(GRANULARITIES, {
        default: 'weight',
        description:
          'What a pruner removes: single weights, [rows, cols] blocks of each matrix (pruning.block), or whole attention heads and FFN neurons (structured). Pruners score weights; a group scores the mean of its weights.',
      }),
    ),
    block: Type.Optional(
      Type.Tuple([Type.Integer({ minimum: 1 }), Type.Integer({ minimum: 1 })], {
        default: [32, 32],
        description: 'Block size [rows, cols] for granularity block; edge blocks are smaller when a matrix does not divide.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type PruningSpec = Static<typeof PruningSpecSchema>;

export const DataSpecSchema = Type.Object(
  {
    dir: Type.Optional(Type.String({ description: 'Local GLUE root: <dir>/<task>/<split>.jsonl, GLUE TSV folders or Parquet files.' })),
    source: literals(['auto', 'local', 'hub'] as const, { default: 'auto', description: 'auto: local dir if given, else the Hub cache, else download.' }),
    cache_dir: Type.Optional(Type.String({ description: 'Where Hub downloads and trained vocabularies are cached (default ~/.cache/gbp).' })),
    offline: Type.Boolean({ default: false, description: 'Never download; fail with instructions if data is missing.' }),
    max_line_bytes: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Longest line a JSONL or TSV file may have, in bytes (default 1048576 = 1 MiB); a longer one fails naming file:line.' }),
    ),
  },
  { additionalProperties: false },
);
export type DataSpec = Static<typeof DataSpecSchema>;

export const TokenizerSpecSchema = Type.Object(
  {
    path: Type.Optional(Type.String({ description: 'vocab.txt or tokenizer.json (bert-base-uncased compatible). Default: train WordPiece on the training split.' })),
    lowercase: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);
export type TokenizerSpec = Static<typeof TokenizerSpecSchema>;

const WidthList = (description: string) => Type.Array(Type.Integer(), { description });

/** Allowed sub-network widths; checked against the model by resolveSearchSpace (search/space.ts), which names each bad value. */
export const SearchSpaceSpecSchema = Type.Object(
  {
    layers: Type.Optional(WidthList('Layers a sub-network may keep (the first N of the model). Default: all of them.')),
    heads: Type.Optional(WidthList('Attention heads a kept layer may have (0 skips its attention). Default: all of them.')),
    ffn: Type.Optional(WidthList('FFN widths (neurons) a kept layer may have (0 skips its FFN). Default: the full width.')),
  },
  { additionalProperties: false, description: 'A search space over depth, heads per layer and FFN width per layer, in the steps listed.' },
);

export const SupernetSpecSchema = Type.Object(
  {
    space: SearchSpaceSpecSchema,
    random_subnets: Type.Integer({ minimum: 0, default: 2, description: 'Random sub-networks trained each step besides the largest and the smallest (the sandwich rule; AutoTinyBERT: 2).' }),
    rewire: Type.Boolean({ default: true, description: "Reorder each layer's heads and FFN neurons by importance before training (DynaBERT), so a sub-network keeps the most important ones." }),
    importance_batches: PositiveInt('Training batches the rewiring importance is measured on.', { default: 8 }),
  },
  {
    additionalProperties: false,
    description:
      'Train the model as a weight-sharing supernet: each step trains the largest, the smallest and random_subnets random sub-networks of the space, the others distilled in place from the largest (or all from train.distill\'s teacher).',
  },
);
export type SupernetSpec = Static<typeof SupernetSpecSchema>;

export const SEARCH_METHODS = ['evolutionary', 'random'] as const;

export const LatencySpecSchema = Type.Object(
  {
    batch: PositiveInt('Rows per measured forward pass.', { default: 8 }),
    seq: Type.Optional(PositiveInt('Sequence length of the measured forward passes. Default: model.max_len.')),
    samples: PositiveInt('Sub-networks measured to fit the latency model (a quarter held out to report its error).', { default: 48 }),
    runs: PositiveInt('Timed forward passes per sub-network (the median counts), after a warm-up.', { default: 9 }),
    threads: PositiveInt('Threads of the measured forward passes (gbp bench --threads).', { default: 1 }),
  },
  { additionalProperties: false, default: {}, description: 'How latency is measured: the latency model is fitted on these and cached per backend and machine.' },
);
export type LatencySpec = Static<typeof LatencySpecSchema>;

export const SearchBudgetSpecSchema = Type.Object(
  {
    latency_ms: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Milliseconds per forward pass at latency.batch x latency.seq.' })),
    speedup: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: "Times faster than the full model (its measured latency / speedup)." })),
  },
  { additionalProperties: false, minProperties: 1, maxProperties: 1, description: 'The latency budget: latency_ms or speedup, one of them.' },
);
export type SearchBudgetSpec = Static<typeof SearchBudgetSpecSchema>;

export const SearchSpecSchema = Type.Object(
  {
    space: Type.Optional(SearchSpaceSpecSchema),
    budget: SearchBudgetSpecSchema,
    method: literals(SEARCH_METHODS, { default: 'evolutionary', description: 'evolutionary (AutoTinyBERT\'s evolved search) or random.' }),
    population: PositiveInt('Evolutionary: candidates per generation (AutoTinyBERT: 25).', { default: 25 }),
    generations: PositiveInt('Evolutionary: generations after the first, random one.', { default: 4 }),
    parents: Type.Optional(PositiveInt('Evolutionary: parents of each generation, the fittest so far. Default: half the population.')),
    explore_rate: Fraction('Evolutionary: fraction of each generation made by mutation; the rest by crossover of two parents (AutoTinyBERT: 0.5).', { default: 0.5 }),
    mutation_rate: Fraction('Evolutionary: probability that mutation redraws each gene (depth, a layer\'s heads, a layer\'s FFN width; AutoTinyBERT: 0.25).', { default: 0.25 }),
    candidates: PositiveInt('Random: sub-networks scored.', { default: 50 }),
    window: Type.Tuple([Type.Number({ exclusiveMinimum: 0 }), Type.Number({ exclusiveMinimum: 0 })], {
      default: [0.85, 1.1],
      description: 'Candidates count only when their predicted latency is within [low, high] x the budget (AutoTinyBERT: 0.85-1.1).',
    }),
    finalists: PositiveInt('The fittest candidates whose latency is measured; the fittest finalist within the budget is extracted.', { default: 5 }),
    latency: Type.Optional(LatencySpecSchema),
  },
  {
    additionalProperties: false,
    description:
      "Search a supernet's sub-networks (init_checkpoint: the supernet job) for the most accurate under a latency budget; fitness is the validation metric with inherited weights. The winner becomes the job's model/.",
  },
);
export type SearchSpec = Static<typeof SearchSpecSchema>;

export const JobSpecSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, description: 'Stable job id (also the results folder name).' }),
    method: Type.String({ minLength: 1, default: 'baseline', description: 'baseline, a built-in pruner, a gbp-pruner-* package or a path.' }),
    method_options: Type.Record(Type.String(), Type.Unknown(), { default: {}, description: "Options for the pruner, validated by the pruner's own schema." }),
    plugins: Type.Array(Type.String(), { default: [], description: 'Extra pruner modules to make resolvable by name.' }),
    method_module: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "file: URL of the module that default-exports this job's pruner, found when the job was planned; when set it is imported as is, " +
          'instead of resolving method (which stays the name results are labelled by) and plugins again.',
      }),
    ),
    task: TaskName,
    model: ModelSpecSchema,
    train: TrainSpecSchema,
    pruning: PruningSpecSchema,
    data: DataSpecSchema,
    tokenizer: TokenizerSpecSchema,
    supernet: Type.Optional(SupernetSpecSchema),
    search: Type.Optional(SearchSpecSchema),
    backend: BackendName,
    output_dir: Type.String({ description: 'The job folder: results, events, checkpoints.' }),
    init_checkpoint: Type.Optional(Type.String({ description: 'Start from the weights (and masks) of this checkpoint, e.g. a dense stage.' })),
    resume: Type.Boolean({ default: false, description: 'Resume from the last checkpoint in output_dir when there is one.' }),
  },
  { additionalProperties: false },
);
export type JobSpec = Static<typeof JobSpecSchema>;
