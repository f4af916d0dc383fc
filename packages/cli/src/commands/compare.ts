/** `gbp compare DIR...`: rebuilds the comparison plot and summary from existing results. */
import { existsSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { COMPARE_FLAGS, helpText, parseFlags, UsageError } from '../args.js';
import { COMPARISON_FILES, findJobDirs, writeComparison } from '../plots/results.js';
import { CANDIDATES_CSV, PARETO_PNG, writePareto } from '../plots/pareto.js';
import { isGbpOutput, markOutput } from '../run/output-folder.js';
import { RunRefusedError } from '../run/run-refused.js';
import type { CommandIO } from './io.js';
import { EXIT } from './run.js';

export async function compareCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const { flags, positionals } = parseFlags(argv, COMPARE_FLAGS, 'gbp compare');
  if (flags.help) {
    io.stdout.write(
      helpText('Usage: gbp compare DIR... [-o OUT]', COMPARE_FLAGS, 'DIR is a pipeline results folder (with results_* job folders) or a job folder.'),
    );
    return EXIT.ok;
  }
  if (positionals.length === 0) throw new UsageError('gbp compare: give at least one results folder; see gbp compare -h');
  const dirs = positionals.map((p) => resolve(io.cwd, p));
  // A pipeline folder and one of its job folders may both be named: each job counts once.
  const jobDirs = [
    ...new Set(
      dirs.flatMap((dir) => {
        const found = findJobDirs(dir);
        if (found.length === 0) throw new UsageError(`gbp compare: ${dir} holds no job results (results_*.csv)`);
        return found;
      }),
    ),
  ];
  const single = dirs.length === 1 && jobDirs[0] !== dirs[0];
  const out = flags.output ? resolve(io.cwd, flags.output) : single ? dirs[0]! : resolve(io.cwd, 'comparison');
  const title = flags.title ?? (single ? basename(dirs[0]!) : 'comparison');
  refuseForeignFiles(out);
  await markOutput(out);
  const comparison = await writeComparison(out, jobDirs, title);
  // Search jobs write no epochs (so findJobDirs passes them by): their folders are added for pareto.png.
  const pareto = await writePareto(out, [...new Set([...jobDirs, ...dirs.flatMap(searchJobDirs)])], title);
  const plots = [...comparison.plots, ...(pareto ? [pareto.png] : [])];
  const notes = [...comparison.notes, ...(pareto?.notes ?? [])];
  io.stdout.write(`${jobDirs.length} jobs compared\n${plots.map((png) => `plot: ${png}\n`).join('')}summary: ${comparison.summary}\n${notes.map((n) => `note: ${n}\n`).join('')}`);
  return EXIT.ok;
}

/** Search job folders in or at `dir` (those with search/candidates.csv). */
function searchJobDirs(dir: string): string[] {
  if (existsSync(join(dir, CANDIDATES_CSV))) return [dir];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name.startsWith('results_') && existsSync(join(dir, e.name, CANDIDATES_CSV)))
    .map((e) => join(dir, e.name));
}

/** A summary.md or plot already in OUT that gbp did not write (no marker) is the user's: never overwrite it. */
function refuseForeignFiles(out: string): void {
  if (isGbpOutput(out)) return;
  const theirs = [...COMPARISON_FILES, PARETO_PNG].map((name) => join(out, name)).filter((path) => existsSync(path));
  if (theirs.length > 0) {
    throw new RunRefusedError(`gbp compare: ${out} is not a gbp output folder and already holds ${theirs.join(', ')}; choose another -o, or move them away`);
  }
}
