/**
 * A small typed hook registry in the manner of unjs/hookable, plus the plugin attribution it
 * lacks: every call is wrapped so a failure names the plugin and the hook.
 */
import { HOOK_NAMES, type HookArgs, type HookName, type PrunerContext, type TrainerHooks } from './types.js';

export class PluginError extends Error {
  readonly code = 'PLUGIN_ERROR';
  constructor(
    readonly plugin: string,
    readonly hook: string,
    override readonly cause: unknown,
  ) {
    super(`pruner ${plugin}, hook ${hook}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'PluginError';
  }
}

interface Registration {
  plugin: string;
  ctx: PrunerContext;
  hooks: Partial<TrainerHooks>;
}

export type HookListener = (event: { plugin: string; hook: HookName; args: unknown[] }) => void;

export class HookRegistry {
  private registrations: Registration[] = [];
  private listeners: HookListener[] = [];

  /** Registers a plugin's hooks with the context they receive; returns its unregister function. */
  register(plugin: string, ctx: PrunerContext, hooks: Partial<TrainerHooks>): () => void {
    const misspelled = misspelledHook(hooks);
    if (misspelled) {
      throw new PluginError(plugin, 'create', new Error(`returned a function '${misspelled.key}', which is no hook and would never be called; did you mean '${misspelled.hook}'? Hooks: ${HOOK_NAMES.join(', ')}`));
    }
    const registration = { plugin, ctx, hooks };
    this.registrations.push(registration);
    return () => {
      this.registrations = this.registrations.filter((r) => r !== registration);
    };
  }

  /** Called before every hook invocation (a cheap feed for logs and the dashboard). */
  beforeEach(listener: HookListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  has(hook: HookName): boolean {
    return this.registrations.some((r) => typeof r.hooks[hook] === 'function');
  }

  /** Calls `hook` on every plugin that has it, one after another, in registration order. */
  async call<K extends HookName>(hook: K, ...args: HookArgs<K>): Promise<void> {
    for (const { plugin, ctx, hooks } of this.registrations) {
      const fn = hooks[hook] as ((ctx: PrunerContext, ...rest: HookArgs<K>) => unknown) | undefined;
      if (typeof fn !== 'function') continue;
      for (const listener of this.listeners) listener({ plugin, hook, args });
      try {
        await fn.call(hooks, ctx, ...args);
      } catch (error) {
        throw error instanceof PluginError ? error : new PluginError(plugin, hook, error);
      }
    }
  }
}

/**
 * A function key one or two edits from a hook name (`afterSteps`, `beforeepoch`) is a typo that
 * TypeScript lets through (the instance type is `T | Promise<T>`) and that would silently never run.
 * Other extra keys (helpers, fields) are the plugin's own business.
 */
function misspelledHook(instance: object): { key: string; hook: HookName } | undefined {
  const known = new Set<string>([...HOOK_NAMES, 'state', 'restore']);
  for (const key of Object.keys(instance)) {
    if (known.has(key) || typeof (instance as Record<string, unknown>)[key] !== 'function') continue;
    const hook = HOOK_NAMES.find((name) => editDistance(key.toLowerCase(), name.toLowerCase()) <= 2);
    if (hook) return { key, hook };
  }
  return undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}
