/** File + flags -> Plan (its local data files checked), the shared front half of `gbp run` and `gbp validate`. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { resolvePruner } from '@gbp/core';
import { UsageError } from '../args.js';
import { PipelineError } from '../pipeline/errors.js';
import { checkPlanData } from '../pipeline/data-check.js';
import { checkPipeline } from '../pipeline/load.js';
import { methodSectionIssues } from '../pipeline/method-options.js';
import type { PipelineFile } from '../pipeline/schema.js';
import { planPipeline, type Plan } from '../pipeline/plan.js';
import { resolvePipeline, type CliOverrides, type ResolvedPipeline } from '../pipeline/resolve.js';

/** `warn` gets what is allowed but likely a mistake (a job count over run.max_jobs_warning). */
export async function planFromFile(
  file: string,
  overrides: CliOverrides,
  command: string,
  cwd: string,
  warn: (message: string) => void = () => undefined,
): Promise<{ plan: Plan; pipeline: ResolvedPipeline }> {
  if (!existsSync(resolvePath(cwd, file))) throw new UsageError(`${command}: no such pipeline file: ${file}`);
  // Messages name the file as the user typed it; reading and relative paths use cwd.
  const { source, issues } = checkPipeline(file, readFileSync(resolvePath(cwd, file), 'utf8'));
  if (issues.length > 0) {
    // The pruners' option checks come later, in planning; run them on what is well-formed now, so
    // one report holds every error of the file.
    const flagMethods = overrides.axes?.method ?? [];
    throw new PipelineError([...issues, ...(await methodSectionIssues(source, issues, { methods: overrides.methods ?? {}, flagMethods }, cwd))]);
  }
  const pipeline = resolvePipeline({ source, file: source.data as PipelineFile }, overrides, cwd);
  // Methods named on the command line are checked here, so the message names the flag.
  for (const method of overrides.axes?.method ?? []) {
    try {
      await resolvePruner(method, { plugins: pipeline.plugins, cwd });
    } catch (error) {
      throw new UsageError(`${command}: -p/--pruning-methods: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const plan = await planPipeline(pipeline);
  if (plan.jobs.length > pipeline.run.maxJobsWarning) {
    warn(
      `${command}: warning: ${file} plans ${plan.jobs.length} jobs, more than run.max_jobs_warning (${pipeline.run.maxJobsWarning}); ` +
        'check the matrix axes, or raise run.max_jobs_warning if this is intended',
    );
  }
  // Bad data rows stop the run here (exit 2), not inside a worker after other jobs ran.
  await checkPlanData(plan, command);
  return { plan, pipeline };
}
