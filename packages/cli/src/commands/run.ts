/** `gbp run FILE`: plan, then run the jobs with a dashboard (TTY) or the plain reporter. */
import { helpText, parseFlags, RUN_FLAGS, envOverrides, UsageError } from '../args.js';
import { attachPlainReporter, summaryText } from '../report/plain.js';
import { runPlan } from '../run/run-plan.js';
import { redactQueueUrl } from '../queue/redis-url.js';
import type { RunStore } from '../run/store.js';
import type { DashboardHandle, DashboardView } from '../report/dashboard.js';
import { overridesFromFlags } from './overrides.js';
import { planFromFile } from './plan-from-file.js';
import { prepareSearchLatency } from '../run/search-latency.js';
import type { CommandIO } from './io.js';

export const RUN_USAGE = 'Usage: gbp run FILE [options]';

/** 0 all jobs finished, 1 a job failed, 2 bad input (nothing ran), 130 stopped by a signal. */
export const EXIT = { ok: 0, failed: 1, usage: 2, aborted: 130 } as const;

export async function runCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const { flags, positionals } = parseFlags(argv, RUN_FLAGS, 'gbp run');
  if (flags.help) {
    io.stdout.write(helpText(RUN_USAGE, RUN_FLAGS, 'Runs every job of a pipeline file; flags and GBP_* variables override the file.'));
    return EXIT.ok;
  }
  const file = onePositional(positionals, 'gbp run');
  const env = envOverrides(io.env);
  const { plan, pipeline } = await planFromFile(file, overridesFromFlags(flags, io.env, io.cwd), 'gbp run', io.cwd, (warning) => io.stderr.write(`${warning}\n`));
  const verbose = flags.verbose === true || env.verbose;
  // Loaded only for a terminal: pipes and CI never pay for ink and React.
  const dashboardModule = io.isTTY && !flags.plain ? await import('../report/dashboard.js') : undefined;

  const queue = pipeline.run.queue;
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) process.exit(EXIT.aborted);
    io.stderr.write(
      queue
        ? `\ngbp: ${signal}: no longer waiting; the jobs stay on the queue and keep running on the workers; gbp run --resume re-attaches\n`
        : `\ngbp: ${signal}: stopping jobs (each writes a checkpoint); press again to kill them\n`,
    );
    controller.abort();
  };
  const detachSignals = io.onSignals(onSignal);

  // Search jobs' latency models, measured while nothing else runs, and their budgets checked: before any job or folder.
  // On a queue the jobs run on other machines: latency there is theirs, so each search job measures and checks its own.
  if (queue !== undefined && plan.jobs.some((j) => j.spec.search)) {
    io.stderr.write('search jobs: on a queue each measures latency and checks its budget on its worker (latency is per machine)\n');
  }
  try {
    if (queue === undefined) await prepareSearchLatency(plan, pipeline, {
      // A terminal redraws one progress line; a pipe or log gets the lines as they come.
      progress: (line, final) => io.stderr.write(io.isTTY ? `\r${line}${final ? '\n' : ''}` : `${line}\n`),
      signal: controller.signal,
    });
  } catch (error) {
    detachSignals();
    if (!controller.signal.aborted) throw error;
    io.stderr.write('gbp: stopped while measuring latency, before any job\n');
    return EXIT.aborted;
  }

  const headline = queue
    ? `gbp run ${plan.pipeline}: ${plan.jobs.length} jobs on queue ${redactQueueUrl(queue)} -> ${plan.output_dir}`
    : `gbp run ${plan.pipeline}: ${plan.jobs.length} jobs, ${plan.concurrency} at a time -> ${plan.output_dir}`;
  let dashboard: DashboardHandle | undefined;
  const attach = (store: RunStore) => {
    if (dashboardModule) {
      dashboard = dashboardModule.startDashboard(store, {
        title: headline,
        view: (flags.view as DashboardView | undefined) ?? 'progress',
        onInterrupt: () => onSignal('SIGINT'),
        stdout: io.stdout,
        stdin: io.stdin,
      });
    } else {
      io.stdout.write(`${headline}\n`);
      attachPlainReporter(store, { out: io.stdout, verbose });
    }
  };

  // A refused run (folder in use, not gbp's) throws before any job: the handlers go either way.
  const outcome = await runPlan(plan, {
    resume: flags.resume === true,
    force: flags.force === true,
    command: `gbp run ${file}`,
    signal: controller.signal,
    gpus: pipeline.run.gpus,
    ...(queue !== undefined && { queue: { url: queue, attempts: pipeline.run.queueAttempts, sendCheckpoints: pipeline.run.queueCheckpoints } }),
    onStore: attach,
    note: (message) => (dashboard ? dashboard.note(message) : io.stderr.write(`${message}\n`)),
  }).finally(detachSignals);
  if (dashboard) await dashboard.finish(outcome);
  io.stdout.write(`${summaryText(outcome.views)}\n`);
  if (outcome.comparison) {
    const { png, plots, summary } = outcome.comparison;
    io.stdout.write(`comparison: ${png}\n${plots.filter((p) => p !== png).map((p) => `plot: ${p}\n`).join('')}summary: ${summary}\n`);
  }
  if (outcome.bench) io.stdout.write(`bench: ${outcome.bench}\n`);
  if (outcome.pareto) io.stdout.write(`pareto: ${outcome.pareto}\n`);
  for (const dir of outcome.exports ?? []) io.stdout.write(`export: ${dir}\n`);
  if (outcome.planFileError) io.stderr.write(`gbp: ${outcome.planFileError}\n`);
  if (outcome.aborted) {
    io.stdout.write(`stopped; continue with: gbp run ${[...redactedArgv(argv).filter((a) => a !== '--resume'), '--resume'].join(' ')}\n`);
    return EXIT.aborted;
  }
  return outcome.failed > 0 || outcome.planFileError ? EXIT.failed : EXIT.ok;
}

/** The command line with a --queue URL's password replaced by '***' (printed, so never the password). */
function redactedArgv(argv: readonly string[]): string[] {
  return argv.map((arg, i) => (argv[i - 1] === '--queue' ? redactQueueUrl(arg) : arg.startsWith('--queue=') ? `--queue=${redactQueueUrl(arg.slice('--queue='.length))}` : arg));
}

export function onePositional(positionals: readonly string[], command: string): string {
  if (positionals.length !== 1) {
    throw new UsageError(`${command}: expected one pipeline file, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}; see ${command} -h`);
  }
  return positionals[0]!;
}
