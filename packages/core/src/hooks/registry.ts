/**
 * A small typed hook registry in the manner of unjs/hookable, plus the plugin attribution it
 * lacks: every call is wrapped so a failure names the plugin and the hook.
 */
import type { HookArgs, HookName, PrunerContext, TrainerHooks } from './types.js';

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
