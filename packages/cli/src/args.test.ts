import { describe, expect, it } from 'vitest';
import { envOverrides, helpText, INFO_FLAGS, parseFlags, RUN_FLAGS, UsageError } from './args.js';
import { overridesFromFlags } from './commands/overrides.js';

const parse = (...argv: string[]) => parseFlags(argv, RUN_FLAGS, 'gbp run');
const usage = (...argv: string[]) => {
  try {
    parse(...argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
};

describe('run flags', () => {
  it('parses every flag of the original script, multi-letter short flags included', () => {
    const { flags, positionals } = parse(
      'p.yaml', '-e', '3', '-b', '16', '-l', '2e-5', '-m', 'tiny,small', '-p', 'baseline,magnitude', '-s', '0.1', '-f', '0.9',
      '-ps', '2', '-pe', '4', '-ss', '10,50,90', '-se', 'per-layer', '-t', 'sst2', '-ml', '64', '--parallel',
      '--max-parallel-jobs=3', '--data-dir', 'd', '--backend', 'wasm', '--output', 'out', '--resume', '--view', 'both', '--gpus', '0,1',
    );
    expect(positionals).toEqual(['p.yaml']);
    expect(flags).toEqual({
      epochs: 3, batchSize: 16, learningRate: 2e-5, modelSize: ['tiny', 'small'], methods: ['baseline', 'magnitude'],
      startSparsity: 0.1, endSparsity: 0.9, pruningStart: 2, pruningEnd: 4, sparsitySteps: ['10', '50', '90'],
      sptExplore: 'per-layer', task: ['sst2'], maxLen: 64, parallel: true, maxParallelJobs: 3, dataDir: 'd',
      backend: 'wasm', output: 'out', resume: true, view: 'both', gpus: ['0', '1'],
    });
    const overrides = overridesFromFlags(flags, {});
    expect(overrides.set).toEqual({
      train: { epochs: 3, batch_size: 16, learning_rate: 2e-5 },
      pruning: { start_sparsity: 0.1, end_sparsity: 0.9, start_epoch: 2, end_epoch: 4, sparsity_steps: [10, 50, 90] },
      model: { max_len: 64 },
    });
    expect(overrides.axes).toEqual({ method: ['baseline', 'magnitude'], task: ['sst2'], 'model.size': ['tiny', 'small'] });
    expect(overrides.methods).toEqual({ spt: { explore_per_layer: true } });
    expect(overrides.run).toEqual({ parallel: true, max_parallel_jobs: 3, backend: 'wasm', output: 'out', gpus: [0, 1] });
  });

  it('rejects bad values with the flag and what it expects', () => {
    expect(usage('-e', '0')).toBe("gbp run: -e/--epochs must be a positive integer, got '0'");
    expect(usage('-b', '1.5')).toBe("gbp run: -b/--batch-size must be a positive integer, got '1.5'");
    expect(usage('-l', '-1')).toBe("gbp run: -l/--learning-rate must be a positive number, got '-1'");
    expect(usage('-f', '1.2')).toBe("gbp run: -f/--end-sparsity must be a number in [0, 1], got '1.2'");
    expect(usage('-t', 'sst2,imdb')).toBe("gbp run: -t/--task: unknown value 'imdb'; expected one of sst2, mnli, qnli, rte, wnli, mrpc, cola, stsb");
    expect(usage('-m', 'huge')).toMatch(/-m\/--model-size: unknown value 'huge'; expected one of tiny, small, base, large/);
    expect(usage('-g', 'head')).toBe("gbp run: -g/--granularity: unknown value 'head'; expected one of weight, block, structured");
    expect(usage('-ss', '10,120')).toBe("gbp run: -ss/--sparsity-steps: '120' is not a percentage in [0, 100]");
    expect(usage('--view', 'grid')).toBe("gbp run: --view must be one of progress, logs, both, got 'grid'");
    expect(usage('--epochs')).toBe('gbp run: -e/--epochs needs a value (N)');
    expect(usage('-x')).toBe('gbp run: unknown flag -x; see gbp run -h');
  });

  it('reports every bad value at once, a line each, and stops only where reading on is unsound', () => {
    expect(usage('f.yaml', '-ps', '0', '-e', 'x', '--resume=yes', '-t', 'sst2,imdb,foo', '-b', '8').split('\n')).toEqual([
      "gbp run: -ps/--pruning-start must be a positive integer, got '0'",
      "gbp run: -e/--epochs must be a positive integer, got 'x'",
      'gbp run: --resume takes no value',
      "gbp run: -t/--task: unknown value 'imdb'; expected one of sst2, mnli, qnli, rte, wnli, mrpc, cola, stsb",
      "gbp run: -t/--task: unknown value 'foo'; expected one of sst2, mnli, qnli, rte, wnli, mrpc, cola, stsb",
    ]);
    // An unknown flag may or may not take a value, so parsing stops there, keeping what it found.
    expect(usage('-e', '0', '-q', '-b', 'x')).toBe("gbp run: -e/--epochs must be a positive integer, got '0'\ngbp run: unknown flag -q; see gbp run -h");
    expect(usage('-l', '0', '--epochs')).toBe("gbp run: -l/--learning-rate must be a positive number, got '0'\ngbp run: -e/--epochs needs a value (N)");
  });

  it('takes list flags comma-separated or repeated, and says how to write values given as separate words', () => {
    expect(parse('p.yaml', '-m', 'tiny', '-m', 'small', '-t', 'sst2', '-t', 'rte,mrpc', '-p', 'baseline', '-p', 'spt').flags).toEqual({
      modelSize: ['tiny', 'small'], task: ['sst2', 'rte', 'mrpc'], methods: ['baseline', 'spt'],
    });
    expect(usage('p.yaml', '-m', 'tiny', 'small', 'base', '-t', 'sst2', 'rte').split('\n')).toEqual([
      "gbp run: unexpected arguments 'small' 'base' after -m tiny; give several values as -m tiny,small,base or -m tiny -m small -m base",
      "gbp run: unexpected argument 'rte' after -t sst2; give several values as -t sst2,rte or -t sst2 -t rte",
    ]);
    // A word that is no value of the flag is a positional as before.
    expect(parse('-m', 'tiny', 'p.yaml').positionals).toEqual(['p.yaml']);
    const info = () => parseFlags(['-m', 'tiny', 'small'], INFO_FLAGS, 'gbp info');
    expect(info).toThrow("gbp info: unexpected argument 'small' after -m tiny; give several values as -m tiny,small or -m tiny -m small");
    expect(parseFlags(['-m', 'tiny,small', '-m', 'base'], INFO_FLAGS, 'gbp info').flags.modelSize).toEqual(['tiny', 'small', 'base']);
  });

  it('reads GBP_EPOCHS, GBP_DATA_DIR and GBP_VERBOSE; flags win', () => {
    expect(envOverrides({ GBP_EPOCHS: '2', GBP_VERBOSE: '1', GBP_DATA_DIR: '/d' })).toEqual({ epochs: 2, verbose: true, dataDir: '/d' });
    expect(() => envOverrides({ GBP_EPOCHS: 'two' })).toThrow("GBP_EPOCHS must be a positive integer, got 'two'");
    expect(overridesFromFlags(parse('-e', '5').flags, { GBP_EPOCHS: '2' }).set?.train?.epochs).toBe(5);
    expect(overridesFromFlags(parse().flags, { GBP_EPOCHS: '2' }).set?.train?.epochs).toBe(2);
    expect(overridesFromFlags(parse('--data-dir', 'a').flags, { GBP_DATA_DIR: 'b' }).dataDir).toBe('a');
  });

  it('--threads sets train.threads of every job; a bad value is refused by name', () => {
    expect(overridesFromFlags(parse('p.yaml', '--threads', '2').flags, {}).set?.train?.threads).toBe(2);
    expect(overridesFromFlags(parse('p.yaml').flags, {}).set?.train).not.toHaveProperty('threads');
    expect(usage('--threads', '0')).toBe("gbp run: --threads must be a positive integer, got '0'");
  });

  it('-g/--granularity sets the pruning.granularity axis, one job per value', () => {
    const { flags } = parse('p.yaml', '-g', 'weight,block', '--granularity', 'structured');
    expect(flags.granularity).toEqual(['weight', 'block', 'structured']);
    expect(overridesFromFlags(flags, {}).axes).toEqual({ 'pruning.granularity': ['weight', 'block', 'structured'] });
  });

  it('lists every flag in the help', () => {
    const help = helpText('Usage: gbp run FILE', RUN_FLAGS);
    for (const flag of RUN_FLAGS) expect(help).toContain(flag.names.join(', '));
  });
});
