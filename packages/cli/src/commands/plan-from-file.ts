/** File + flags -> Plan, the shared front half of `gbp run` and `gbp validate`. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { resolvePruner } from '@gbp/core';
import { UsageError } from '../args.js';
import { loadPipeline } from '../pipeline/load.js';
import { planPipeline, type Plan } from '../pipeline/plan.js';
import { resolvePipeline, type CliOverrides, type ResolvedPipeline } from '../pipeline/resolve.js';

export async function planFromFile(file: string, overrides: CliOverrides, command: string, cwd: string): Promise<{ plan: Plan; pipeline: ResolvedPipeline }> {
  if (!existsSync(resolvePath(cwd, file))) throw new UsageError(`${command}: no such pipeline file: ${file}`);
  // Messages name the file as the user typed it; reading and relative paths use cwd.
  const pipeline = resolvePipeline(loadPipeline(file, readFileSync(resolvePath(cwd, file), 'utf8')), overrides, cwd);
  // Methods named on the command line are checked here, so the message names the flag.
  for (const method of overrides.axes?.method ?? []) {
    try {
      await resolvePruner(method, { plugins: pipeline.plugins, cwd });
    } catch (error) {
      throw new UsageError(`${command}: -p/--pruning-methods: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { plan: await planPipeline(pipeline), pipeline };
}
