/** `gbp validate FILE`: the run's front half (load, validate, plan) without running anything. */
import { relative } from 'node:path';
import { helpText, parseFlags, RUN_FLAGS } from '../args.js';
import type { CommandIO } from './io.js';
import { overridesFromFlags } from './overrides.js';
import { planFromFile } from './plan-from-file.js';
import { checkCachedSearchLatency } from '../run/search-latency.js';
import { EXIT, onePositional } from './run.js';
import { modelLabel } from '../model-label.js';
import { textTable } from './table.js';

export async function validateCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const { flags, positionals } = parseFlags(argv, RUN_FLAGS, 'gbp validate');
  if (flags.help) {
    io.stdout.write(helpText('Usage: gbp validate FILE [run options]', RUN_FLAGS, 'Checks a pipeline (schema, stages, each pruner\'s options) and prints its jobs.'));
    return EXIT.ok;
  }
  const file = onePositional(positionals, 'gbp validate');
  const { plan, pipeline } = await planFromFile(file, overridesFromFlags(flags, io.env, io.cwd), 'gbp validate', io.cwd, (warning) => io.stderr.write(`${warning}\n`));
  // A budget no sub-network meets makes the file invalid (where a cached latency model says so).
  const latencyLines = await checkCachedSearchLatency(plan, pipeline);
  io.stdout.write(`${file}: valid; ${plan.jobs.length} jobs, ${plan.concurrency} at a time\n\n`);
  const rows = plan.jobs.map((j) => [
    j.id,
    j.stage,
    j.spec.method,
    j.spec.task,
    modelLabel(j.spec.model),
    j.spec.train.epochs,
    j.needs.length > 0 ? j.needs.join(',') : '-',
    relative(io.cwd, j.spec.output_dir),
  ]);
  io.stdout.write(`${textTable(['job', 'stage', 'method', 'task', 'model', 'epochs', 'needs', 'output'], rows)}\n`);
  for (const report of plan.reports) io.stdout.write(`report ${report.stage}: compares ${report.jobs.length} jobs\n`);
  for (const line of latencyLines) io.stdout.write(`${line}\n`);
  for (const e of plan.exports) io.stdout.write(`export ${e.stage}: writes the models of ${e.jobs.length} jobs as ${e.format}${e.dtype ? ` (${e.dtype})` : ''}\n`);
  return EXIT.ok;
}
