/**
 * Command-line flags as one explicit table: parsing, validation and help come from it.
 *
 * Why not node:util parseArgs or commander: the original run_experiments.sh has multi-letter
 * short flags (-ps, -pe, -ss, -se, -ml) that both treat as single-letter short options; a table
 * of ~25 entries keeps those flags exact and puts each flag's validation next to its help.
 */
import { BACKEND_NAMES, GRANULARITIES, MODEL_SIZES, TASK_NAMES } from '@gbp/core';
import { BENCH_MODES } from './bench/shapes.js';
import { BENCH_RUNTIMES, DEFAULT_BENCH_THREADS } from './bench/runtimes.js';
import { INFER_RUNTIMES } from './infer/runtimes.js';

export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Kind = 'int' | 'number' | 'fraction' | 'string' | 'bool' | 'list';

export interface FlagSpec<K extends string = string> {
  readonly key: K;
  readonly names: readonly string[];
  readonly kind: Kind;
  readonly arg?: string;
  readonly help: string;
  /** Values a 'list' or 'string' flag may take. */
  readonly choices?: readonly string[];
  /** Per item check for lists; returns an error text or undefined. */
  readonly check?: (value: string) => string | undefined;
  /** May be given several times (values are appended). */
  readonly repeat?: boolean;
}

const percent = (v: string) => (Number.isFinite(Number(v)) && Number(v) >= 0 && Number(v) <= 100 ? undefined : 'a percentage in [0, 100]');
const gpuId = (v: string) => (/^\d+$/.test(v) ? undefined : 'a GPU id (a non-negative integer)');

export const RUN_FLAGS = [
  { key: 'epochs', names: ['-e', '--epochs'], kind: 'int', arg: 'N', help: 'training epochs (env GBP_EPOCHS)' },
  { key: 'batchSize', names: ['-b', '--batch-size'], kind: 'int', arg: 'N', help: 'examples per optimizer step' },
  { key: 'learningRate', names: ['-l', '--learning-rate'], kind: 'number', arg: 'LR', help: 'peak learning rate (> 0)' },
  { key: 'modelSize', names: ['-m', '--model-size'], kind: 'list', arg: 'SIZE[,SIZE]', choices: MODEL_SIZES, repeat: true, help: 'model size preset(s)' },
  { key: 'from', names: ['--from'], kind: 'string', arg: 'MODEL', help: "start every job from this pretrained model (Hub id, Hugging Face folder, gbp model or job folder) instead of the file's model" },
  { key: 'methods', names: ['-p', '--pruning-methods'], kind: 'list', arg: 'M[,M]', repeat: true, help: 'pruning methods, e.g. baseline,magnitude,movement,spt' },
  { key: 'startSparsity', names: ['-s', '--start-sparsity'], kind: 'fraction', arg: 'S', help: 'sparsity at the start of pruning, in [0, 1]' },
  { key: 'endSparsity', names: ['-f', '--end-sparsity'], kind: 'fraction', arg: 'S', help: 'final sparsity, in [0, 1]' },
  { key: 'pruningStart', names: ['-ps', '--pruning-start'], kind: 'int', arg: 'EPOCH', help: 'first pruning epoch (1-based)' },
  { key: 'pruningEnd', names: ['-pe', '--pruning-end'], kind: 'int', arg: 'EPOCH', help: 'last pruning epoch' },
  { key: 'granularity', names: ['-g', '--granularity'], kind: 'list', arg: 'G[,G]', choices: GRANULARITIES, repeat: true, help: 'what pruning removes: weight, block (pruning.block) or structured (heads, neurons); one job each' },
  { key: 'sparsitySteps', names: ['-ss', '--sparsity-steps'], kind: 'list', arg: 'P[,P]', check: percent, help: 'percentages for the steps schedule' },
  { key: 'sptExplore', names: ['-se', '--spt-explore'], kind: 'string', arg: 'MODE', choices: ['per-layer', 'global', 'true', 'false'], help: 'spt exploration per layer (per-layer|true) or over all gates (global|false)' },
  { key: 'task', names: ['-t', '--task'], kind: 'list', arg: 'TASK[,TASK]', choices: TASK_NAMES, repeat: true, help: 'GLUE task(s)' },
  { key: 'maxLen', names: ['-ml', '--max-len'], kind: 'int', arg: 'N', help: 'maximum sequence length' },
  { key: 'parallel', names: ['--parallel'], kind: 'bool', help: 'run jobs in parallel (up to --max-parallel-jobs, default 2)' },
  { key: 'maxParallelJobs', names: ['--max-parallel-jobs'], kind: 'int', arg: 'N', help: 'at most N jobs at once (implies --parallel)' },
  { key: 'dataDir', names: ['--data-dir'], kind: 'string', arg: 'DIR', help: 'GLUE data folder (env GBP_DATA_DIR; else the file\'s data.dir; else the Hub)' },
  { key: 'backend', names: ['--backend'], kind: 'string', arg: 'NAME', choices: BACKEND_NAMES, help: 'TF.js backend' },
  { key: 'threads', names: ['--threads'], kind: 'int', arg: 'N', help: 'threads per job on wasm/cpu (train.threads; default: env GBP_THREADS, else the cores divided among the jobs running at once)' },
  { key: 'output', names: ['--output'], kind: 'string', arg: 'DIR', help: 'results root (default: the file\'s run.output, else results)' },
  { key: 'resume', names: ['--resume'], kind: 'bool', help: 'skip finished jobs, resume the others from their checkpoints' },
  { key: 'force', names: ['--force'], kind: 'bool', help: 'write into a non-empty folder gbp did not make (never overwriting what is there)' },
  { key: 'view', names: ['--view'], kind: 'string', arg: 'VIEW', choices: ['progress', 'logs', 'both'], help: 'dashboard view (key v switches)' },
  { key: 'gpus', names: ['--gpus'], kind: 'list', arg: 'ID[,ID]', check: gpuId, help: 'GPU ids; each job gets one (CUDA_VISIBLE_DEVICES)' },
  { key: 'queue', names: ['--queue'], kind: 'string', arg: 'URL', help: "run the jobs on `gbp worker` machines through this Redis, redis://[user:password@]host:port (env GBP_QUEUE; else the file's run.queue)" },
  { key: 'queueCheckpoints', names: ['--queue-checkpoints'], kind: 'bool', help: "with --queue: workers send each job's checkpoints/ back too" },
  { key: 'plain', names: ['--plain'], kind: 'bool', help: 'line-per-event output even in a terminal' },
  { key: 'verbose', names: ['-v', '--verbose'], kind: 'bool', help: 'print every event (env GBP_VERBOSE=1)' },
  { key: 'help', names: ['-h', '--help'], kind: 'bool', help: 'show this help' },
] as const satisfies readonly FlagSpec[];

export const WORKER_FLAGS = [
  { key: 'queue', names: ['--queue'], kind: 'string', arg: 'URL', help: 'Redis of the queue: redis://[user:password@]host:port[/db] or rediss:// (env GBP_QUEUE)' },
  { key: 'concurrency', names: ['--concurrency'], kind: 'int', arg: 'N', help: 'jobs run at once (default 1)' },
  { key: 'backend', names: ['--backend'], kind: 'string', arg: 'NAME', choices: BACKEND_NAMES, help: "TF.js backend of every job (default: the job's own)" },
  { key: 'name', names: ['--name'], kind: 'string', arg: 'NAME', help: 'this worker in events and logs (default: host:pid)' },
  { key: 'gpus', names: ['--gpus'], kind: 'list', arg: 'ID[,ID]', check: gpuId, help: 'GPU ids; each running job gets one (CUDA_VISIBLE_DEVICES)' },
  { key: 'checkpointDir', names: ['--checkpoint-dir'], kind: 'string', arg: 'DIR', help: 'shared storage for job folders (DIR/<run>/<job>): a job retried on another worker resumes there (default: ~/.cache/gbp/worker, not shared)' },
  { key: 'help', names: ['-h', '--help'], kind: 'bool', help: 'show this help' },
] as const satisfies readonly FlagSpec[];

export const INFO_FLAGS = [
  { key: 'modelSize', names: ['-m', '--model-size'], kind: 'list', arg: 'SIZE', choices: MODEL_SIZES, repeat: true, help: 'size preset(s); repeat or comma-separate (default: all)' },
  { key: 'from', names: ['--from'], kind: 'list', arg: 'MODEL', repeat: true, help: 'a pretrained model instead: Hub id, Hugging Face folder, gbp model or job folder' },
  { key: 'numLabels', names: ['--num-labels'], kind: 'int', arg: 'N', help: "with --from: the classifier's outputs (default: the checkpoint's own, else 2)" },
  { key: 'numLayers', names: ['--num-layers'], kind: 'int', arg: 'N', help: 'override the encoder layers' },
  { key: 'dModel', names: ['--d-model'], kind: 'int', arg: 'N', help: 'override the hidden size' },
  { key: 'numHeads', names: ['--num-heads'], kind: 'int', arg: 'N', help: 'override the attention heads' },
  { key: 'dff', names: ['--dff'], kind: 'int', arg: 'N', help: 'override the feed-forward size' },
  { key: 'vocabSize', names: ['--vocab-size'], kind: 'int', arg: 'N', help: 'override the vocabulary size' },
  { key: 'maxLen', names: ['-ml', '--max-len'], kind: 'int', arg: 'N', help: 'override the maximum length' },
  { key: 'json', names: ['--json'], kind: 'bool', help: 'print JSON' },
  { key: 'help', names: ['-h', '--help'], kind: 'bool', help: 'show this help' },
] as const satisfies readonly FlagSpec[];

export const COMPARE_FLAGS = [
  { key: 'output', names: ['-o', '--output'], kind: 'string', arg: 'DIR', help: 'where to write the comparison (default: the folder given, when one)' },
  { key: 'title', names: ['--title'], kind: 'string', arg: 'TEXT', help: 'plot title' },
  { key: 'help', names: ['-h', '--help'], kind: 'bool', help: 'show this help' },
] as const satisfies readonly FlagSpec[];

const positiveInt = (v: string) => (/^\d+$/.test(v) && Number(v) >= 1 ? undefined : 'a positive integer');

export const BENCH_FLAGS = [
  { key: 'mode', names: ['--mode'], kind: 'string', arg: 'MODE', choices: BENCH_MODES, help: 'batch 1 (latency), 32 (throughput) or 1,8,32 (balanced, the default), each at seq 64,128' },
  { key: 'batch', names: ['--batch'], kind: 'list', arg: 'N[,N]', check: positiveInt, help: 'batch sizes (replace the mode\'s)' },
  { key: 'seq', names: ['--seq'], kind: 'list', arg: 'T[,T]', check: positiveInt, help: 'sequence lengths in tokens (replace the mode\'s)' },
  { key: 'backend', names: ['--backend'], kind: 'string', arg: 'NAME', choices: BACKEND_NAMES, help: 'TF.js backend, default auto (as gbp run)' },
  { key: 'runtime', names: ['--runtime'], kind: 'list', arg: 'R[,R]', choices: BENCH_RUNTIMES, repeat: true, help: "what runs each target: tfjs (gbp's forward pass on --backend, the default) and/or onnx (onnxruntime-node on the target's ONNX export)" },
  { key: 'threads', names: ['--threads'], kind: 'list', arg: 'N[,N]', check: positiveInt, repeat: true, help: `threads, one run per value: gbp's replicas (tfjs on wasm/cpu) and onnxruntime's intra-op threads (default ${DEFAULT_BENCH_THREADS}, so runs compare like for like)` },
  { key: 'repeats', names: ['--repeats'], kind: 'int', arg: 'N', help: 'timed rounds per shape; each runs every target once (default 10)' },
  { key: 'warmup', names: ['--warmup'], kind: 'int', arg: 'N', help: 'untimed runs per target and shape first (default 2)' },
  { key: 'json', names: ['--json'], kind: 'string', arg: 'FILE', help: 'also write the results as JSON (bench.json format)' },
  { key: 'help', names: ['-h', '--help'], kind: 'bool', help: 'show this help' },
] as const satisfies readonly FlagSpec[];

export const INFER_FLAGS = [
  { key: 'model', names: ['--model'], kind: 'string', arg: 'M', help: 'a model folder, a job results folder (its model/), a Hugging Face folder or a Hub id org/name[@revision]' },
  { key: 'input', names: ['-i', '--input'], kind: 'string', arg: 'FILE', help: 'JSONL rows to predict (- reads stdin)' },
  { key: 'text', names: ['--text'], kind: 'string', arg: 'TEXT', help: 'one text to predict instead of --input' },
  { key: 'pair', names: ['--pair'], kind: 'string', arg: 'TEXT', help: 'the second segment of the --text pair' },
  { key: 'output', names: ['-o', '--output'], kind: 'string', arg: 'FILE', help: 'write the JSONL here (whole, atomically) instead of to stdout' },
  { key: 'pooled', names: ['--pooled'], kind: 'bool', help: 'also output pooler_output (the pooled [CLS] vector)' },
  { key: 'batch', names: ['--batch'], kind: 'int', arg: 'N', help: 'rows per batch (default 32)' },
  { key: 'task', names: ['--task'], kind: 'string', arg: 'TASK', choices: TASK_NAMES, help: "GLUE task whose metrics score labelled rows (default: the model's task)" },
  { key: 'backend', names: ['--backend'], kind: 'string', arg: 'NAME', choices: BACKEND_NAMES, help: 'TF.js backend, default auto (as gbp run)' },
  { key: 'runtime', names: ['--runtime'], kind: 'string', arg: 'R', choices: INFER_RUNTIMES, help: "what runs the model: tfjs (gbp's forward pass on --backend, the default) or onnx (onnxruntime-node on its ONNX export: native kernels, much faster on CPU)" },
  { key: 'threads', names: ['--threads'], kind: 'int', arg: 'N', help: "threads: tfjs on wasm/cpu splits each batch's rows among them, onnx uses them inside each op (default: env GBP_THREADS, else every core)" },
  { key: 'help', names: ['-h', '--help'], kind: 'bool', help: 'show this help' },
] as const satisfies readonly FlagSpec[];

export const EXPORT_FLAGS = [
  { key: 'format', names: ['--format'], kind: 'string', arg: 'NAME', help: 'what to write (the formats above)' },
  { key: 'output', names: ['-o', '--output'], kind: 'string', arg: 'DIR', help: 'the folder to write (created; a non-empty one is refused without --force)' },
  { key: 'dtype', names: ['--dtype'], kind: 'string', arg: 'TYPE', help: 'weight precision: float32 (default) or float16 (half the size)' },
  { key: 'force', names: ['--force'], kind: 'bool', help: 'replace a non-empty DIR, as a whole' },
  { key: 'help', names: ['-h', '--help'], kind: 'bool', help: 'show this help' },
] as const satisfies readonly FlagSpec[];

export const PLUGINS_FLAGS = [
  { key: 'plugin', names: ['--plugin'], kind: 'list', arg: 'MODULE', repeat: true, help: 'also list this pruner module (package or path)' },
  { key: 'help', names: ['-h', '--help'], kind: 'bool', help: 'show this help' },
] as const satisfies readonly FlagSpec[];

type ValueOf<F extends FlagSpec> = F['kind'] extends 'bool' ? boolean : F['kind'] extends 'list' ? string[] : F['kind'] extends 'string' ? string : number;
export type ParsedFlags<T extends readonly FlagSpec[]> = { [F in T[number] as F['key']]?: ValueOf<F> };

/**
 * Parses argv against a flag table. Throws one UsageError listing every bad flag value (a line
 * each, naming the flag and what it expects). An unknown flag stops parsing there: whether it
 * takes a value, and so how to read the tokens after it, is unknown.
 */
export function parseFlags<const T extends readonly FlagSpec[]>(
  argv: readonly string[],
  table: T,
  command: string,
): { flags: ParsedFlags<T>; positionals: string[] } {
  const flags: Record<string, unknown> = {};
  const positionals: string[] = [];
  const problems: string[] = [];
  // Stopping early still reports the bad values seen so far.
  const stop = (problem: string) => new UsageError([...problems, problem].join('\n'));
  // A list flag's value just read, and the words of its choices that followed it (-m tiny small).
  let list: { name: string; raw: string; spec: FlagSpec; extra: string[] } | undefined;
  const strays: NonNullable<typeof list>[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('-') || /^-\d/.test(token)) {
      if (list?.spec.choices?.includes(token)) {
        if (list.extra.push(token) === 1) strays.push(list);
      } else {
        list = undefined;
        positionals.push(token);
      }
      continue;
    }
    list = undefined;
    const eq = token.indexOf('=');
    const name = eq > 0 ? token.slice(0, eq) : token;
    const spec = table.find((f) => f.names.includes(name));
    if (!spec) throw stop(`${command}: unknown flag ${name}; see ${command} -h`);
    const label = spec.names.join('/');
    if (spec.kind === 'bool') {
      if (eq > 0) problems.push(`${command}: ${label} takes no value`);
      else flags[spec.key] = true;
      continue;
    }
    const raw = eq > 0 ? token.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw stop(`${command}: ${label} needs a value (${spec.arg ?? 'VALUE'})`);
    const converted = convert(spec, raw, `${command}: ${label}`);
    if ('problems' in converted) {
      problems.push(...converted.problems);
      continue;
    }
    const { value } = converted;
    flags[spec.key] = spec.repeat && Array.isArray(value) ? [...((flags[spec.key] as string[] | undefined) ?? []), ...value] : value;
    if (spec.kind === 'list') list = { name, raw, spec, extra: [] };
  }
  problems.push(...strays.map((s) => strayListValues(command, s.name, s.raw, s.extra, s.spec.repeat === true)));
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return { flags: flags as ParsedFlags<T>, positionals };
}

/** Values of a list flag given as separate words (-m tiny small): how to write them instead. */
function strayListValues(command: string, name: string, raw: string, extra: readonly string[], repeat: boolean): string {
  const words = extra.map((e) => `'${e}'`).join(' ');
  const repeated = repeat ? ` or ${[raw, ...extra].map((v) => `${name} ${v}`).join(' ')}` : '';
  return `${command}: unexpected argument${extra.length > 1 ? 's' : ''} ${words} after ${name} ${raw}; give several values as ${name} ${[raw, ...extra].join(',')}${repeated}`;
}

/** A flag's value, or every problem with it (a list reports each bad item). */
function convert(spec: FlagSpec, raw: string, label: string): { value: unknown } | { problems: string[] } {
  const bad = (expected: string) => ({ problems: [`${label} must be ${expected}, got '${raw}'`] });
  switch (spec.kind) {
    case 'int':
      return /^\d+$/.test(raw.trim()) && Number(raw) >= 1 ? { value: Number(raw) } : bad('a positive integer');
    case 'number':
      return Number.isFinite(Number(raw)) && raw.trim() !== '' && Number(raw) > 0 ? { value: Number(raw) } : bad('a positive number');
    case 'fraction':
      return raw.trim() !== '' && Number(raw) >= 0 && Number(raw) <= 1 ? { value: Number(raw) } : bad('a number in [0, 1]');
    case 'string':
      if (spec.choices && !spec.choices.includes(raw)) return bad(`one of ${spec.choices.join(', ')}`);
      if (raw === '') return bad('a non-empty value');
      return { value: raw };
    case 'list': {
      const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (items.length === 0) return bad('a comma-separated list');
      const problems = items.flatMap((item) => {
        if (spec.choices && !spec.choices.includes(item)) return [`${label}: unknown value '${item}'; expected one of ${spec.choices.join(', ')}`];
        const problem = spec.check?.(item);
        return problem ? [`${label}: '${item}' is not ${problem}`] : [];
      });
      return problems.length > 0 ? { problems } : { value: items };
    }
    default:
      return { value: raw };
  }
}

/** Help text for a command from its table. */
export function helpText(usage: string, table: readonly FlagSpec[], intro = ''): string {
  const rows = table.map((f) => [`${f.names.join(', ')}${f.arg ? ` ${f.arg}` : ''}`, f.help + (f.choices && f.kind !== 'list' ? ` (${f.choices.join('|')})` : '')]);
  const width = Math.max(...rows.map(([a]) => a!.length)) + 2;
  return `${usage}\n${intro ? `\n${intro}\n` : ''}\nOptions:\n${rows.map(([a, b]) => `  ${a!.padEnd(width)}${b}`).join('\n')}\n`;
}

/** Environment overrides, validated like the flags they stand for. */
export function envOverrides(env: NodeJS.ProcessEnv): { epochs?: number; verbose: boolean; dataDir?: string } {
  const out: { epochs?: number; verbose: boolean; dataDir?: string } = { verbose: /^(1|true|yes)$/i.test(env.GBP_VERBOSE ?? '') };
  if (env.GBP_EPOCHS !== undefined && env.GBP_EPOCHS !== '') {
    if (!/^\d+$/.test(env.GBP_EPOCHS) || Number(env.GBP_EPOCHS) < 1) {
      throw new UsageError(`GBP_EPOCHS must be a positive integer, got '${env.GBP_EPOCHS}'`);
    }
    out.epochs = Number(env.GBP_EPOCHS);
  }
  if (env.GBP_DATA_DIR) out.dataDir = env.GBP_DATA_DIR;
  return out;
}
