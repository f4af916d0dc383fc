/**
 * `gbp plugins [FILE]`: every pruner gbp can resolve from here, each with its own status: the
 * built-ins, the gbp-pruner-* / @scope/gbp-pruner-* packages installed in node_modules from the cwd
 * upwards, the `plugins:` of a pipeline FILE, and each --plugin module. One that fails to load is
 * reported on its own line; the others still list.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { BUILTIN_PRUNERS, findInstalledPruners, loadPrunerPlugin, resolvePruner, type AnyPrunerDefinition } from '@gbp/core';
import { helpText, parseFlags, PLUGINS_FLAGS, UsageError } from '../args.js';
import { PipelineError } from '../pipeline/errors.js';
import { checkPipeline } from '../pipeline/load.js';
import { resolvePipeline } from '../pipeline/resolve.js';
import type { PipelineFile } from '../pipeline/schema.js';
import type { CommandIO } from './io.js';
import { EXIT } from './run.js';

interface OptionSchema {
  properties?: Record<string, { type?: string; default?: unknown; description?: string; enum?: unknown[]; anyOf?: { const?: unknown }[] }>;
}

/** One row: how a job names it (a --plugin by its definition's name), where it comes from, how to load it. */
interface Entry {
  method?: string;
  source: string;
  load: () => Promise<AnyPrunerDefinition | null>;
}

function describe(def: AnyPrunerDefinition, entry: Entry): string {
  const lines = [`${entry.method ?? def.name}  ${def.version ?? '-'}  ${entry.source}`];
  if (def.description) lines.push(`  ${def.description}`);
  for (const [option, schema] of Object.entries((def.optionsSchema as OptionSchema).properties ?? {})) {
    const choices = schema.enum ?? schema.anyOf?.map((b) => b.const).filter((c) => c !== undefined);
    const type = choices?.length ? choices.join('|') : (schema.type ?? '');
    const dflt = schema.default !== undefined ? ` = ${JSON.stringify(schema.default)}` : '';
    lines.push(`  ${option}: ${type}${dflt}${schema.description ? `  ${schema.description}` : ''}`);
  }
  return lines.join('\n');
}

export async function pluginsCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const { flags, positionals } = parseFlags(argv, PLUGINS_FLAGS, 'gbp plugins');
  if (flags.help) {
    io.stdout.write(
      helpText(
        'Usage: gbp plugins [FILE] [--plugin MODULE ...]',
        PLUGINS_FLAGS,
        'Lists the pruners a job can name from here: built-ins, gbp-pruner-* packages installed in node_modules (from the current folder upwards), the plugins of a pipeline FILE and each --plugin, with their options.',
      ),
    );
    return EXIT.ok;
  }
  const cwd = io.cwd;
  if (positionals.length > 1) throw new UsageError(`gbp plugins: expected at most one pipeline file, got ${positionals.join(' ')}; see gbp plugins -h`);
  const file = positionals[0];
  const entries: Entry[] = [
    ...Object.entries(BUILTIN_PRUNERS).map(([method, pkg]) => ({ method, source: `${pkg} (built in)`, load: () => resolvePruner(method, { cwd }) })),
    ...findInstalledPruners(cwd).map((p) => ({ method: p.method, source: `${p.packageName} (installed, ${p.dir})`, load: () => resolvePruner(p.method, { cwd }) })),
    ...(file === undefined ? [] : pipelinePlugins(file, cwd)).map((spec) => ({ source: `${spec} (plugins of ${file})`, load: () => loadPrunerPlugin(spec, cwd) })),
    ...(flags.plugin ?? []).map((spec) => ({ source: `${spec} (--plugin)`, load: () => loadPrunerPlugin(spec, cwd) })),
  ];
  let code: number = EXIT.ok;
  io.stdout.write('baseline  (built in) no pruning\n');
  for (const entry of entries) {
    try {
      const def = await entry.load();
      if (def) io.stdout.write(`\n${describe(def, entry)}\n`);
    } catch (error) {
      code = EXIT.failed;
      const message = error instanceof Error ? error.message : String(error);
      io.stdout.write(`\n${entry.method ? `${entry.method}  ` : ''}${entry.source}: not available: ${message.split('\n').join('\n  ')}\n`);
    }
  }
  return code;
}

/** The `plugins:` of a pipeline file, paths made absolute as a run resolves them; a file with errors is refused. */
function pipelinePlugins(file: string, cwd: string): readonly string[] {
  if (!existsSync(resolvePath(cwd, file))) throw new UsageError(`gbp plugins: no such pipeline file: ${file}`);
  const { source, issues } = checkPipeline(file, readFileSync(resolvePath(cwd, file), 'utf8'));
  if (issues.length > 0) throw new PipelineError(issues);
  return resolvePipeline({ source, file: source.data as PipelineFile }, {}, cwd).plugins;
}
