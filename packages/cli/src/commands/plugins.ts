/** `gbp plugins`: the pruners gbp can resolve, their versions and options (from their schemas). */
import { BUILTIN_PRUNERS, resolvePruner } from '@gbp/core';
import { helpText, parseFlags, PLUGINS_FLAGS } from '../args.js';
import type { CommandIO } from './io.js';
import { EXIT } from './run.js';

interface OptionSchema {
  properties?: Record<string, { type?: string; default?: unknown; description?: string; enum?: unknown[]; anyOf?: { const?: unknown }[] }>;
}

export async function pluginsCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const { flags } = parseFlags(argv, PLUGINS_FLAGS, 'gbp plugins');
  if (flags.help) {
    io.stdout.write(helpText('Usage: gbp plugins [--plugin MODULE ...]', PLUGINS_FLAGS, 'Lists resolvable pruners with their options.'));
    return EXIT.ok;
  }
  const extra = flags.plugin ?? [];
  let code: number = EXIT.ok;
  io.stdout.write('baseline  (built in) no pruning\n');
  const names = [...Object.keys(BUILTIN_PRUNERS), ...extra];
  for (const name of names) {
    try {
      const def = await resolvePruner(name, { plugins: extra, cwd: io.cwd });
      if (!def) continue;
      io.stdout.write(`\n${def.name}  ${def.version ?? ''}  ${BUILTIN_PRUNERS[name] ?? name}\n`);
      if (def.description) io.stdout.write(`  ${def.description}\n`);
      for (const [option, schema] of Object.entries((def.optionsSchema as OptionSchema).properties ?? {})) {
        const choices = schema.enum ?? schema.anyOf?.map((b) => b.const).filter((c) => c !== undefined);
        const type = choices?.length ? choices.join('|') : (schema.type ?? '');
        const dflt = schema.default !== undefined ? ` = ${JSON.stringify(schema.default)}` : '';
        io.stdout.write(`  ${option}: ${type}${dflt}${schema.description ? `  ${schema.description}` : ''}\n`);
      }
    } catch (error) {
      code = EXIT.failed;
      io.stdout.write(`\n${name}: not available: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}\n`);
    }
  }
  return code;
}
