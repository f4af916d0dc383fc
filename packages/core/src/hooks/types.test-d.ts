/**
 * Type tests of the plugin contract (run by vitest's typecheck and by `tsc`): the hook map, the
 * registry's typed calls and definePruner. A wrong expectation, or a @ts-expect-error that no
 * longer finds its error, fails the suite.
 */
import { describe, expectTypeOf, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import type { tf } from '../tf.js';
import type { Metrics } from '../events.js';
import type { Gate, GateGradients } from '../model/gate.js';
import type { PrunerHelpers } from '../pruning/helpers.js';
import { definePruner } from './define.js';
import { HookRegistry } from './registry.js';
import { HOOK_NAMES, type HookArgs, type HookName, type PrunerContext, type PrunerDefinition, type PrunerInstance, type TrainerHooks } from './types.js';

describe('the hook map', () => {
  it('names exactly the six hooks, and HOOK_NAMES lists them', () => {
    expectTypeOf<HookName>().toEqualTypeOf<'setup' | 'beforeEpoch' | 'afterBackward' | 'afterStep' | 'afterEpoch' | 'teardown'>();
    expectTypeOf(HOOK_NAMES).toEqualTypeOf<HookName[]>();
  });

  it('gives each hook its arguments after the context', () => {
    expectTypeOf<HookArgs<'setup'>>().toEqualTypeOf<[]>();
    expectTypeOf<HookArgs<'beforeEpoch'>>().toEqualTypeOf<[epoch: number]>();
    expectTypeOf<HookArgs<'afterBackward'>>().toEqualTypeOf<[grads: GateGradients]>();
    expectTypeOf<HookArgs<'afterStep'>>().toEqualTypeOf<[step: number]>();
    expectTypeOf<HookArgs<'afterEpoch'>>().toEqualTypeOf<[epoch: number, metrics: Metrics]>();
    expectTypeOf<HookArgs<'teardown'>>().toEqualTypeOf<[]>();
    expectTypeOf<TrainerHooks['afterBackward']>().parameter(0).toEqualTypeOf<PrunerContext>();
    expectTypeOf<GateGradients>().toEqualTypeOf<ReadonlyMap<string, tf.Tensor2D>>();
  });

  it('lets the registry call a hook only with its own arguments', () => {
    const registry = new HookRegistry();
    expectTypeOf(registry.call('afterStep', 3)).resolves.toBeVoid();
    expectTypeOf(registry.call('afterEpoch', 1, { accuracy: 0.9 })).resolves.toBeVoid();
    // @ts-expect-error: no such hook
    void registry.call('afterSteps', 3);
    // @ts-expect-error: afterStep takes the step number
    void registry.call('afterStep', '3');
    // @ts-expect-error: afterEpoch needs the metrics too
    void registry.call('afterEpoch', 1);
    // @ts-expect-error: setup takes nothing after the context
    void registry.call('setup', 1);
  });
});

describe('PrunerContext', () => {
  it('is read-only and offers the decided helpers only', () => {
    expectTypeOf<PrunerContext['helpers']>().toEqualTypeOf<PrunerHelpers>();
    expectTypeOf<PrunerContext['gates']>().toEqualTypeOf<readonly Gate[]>();
    const touch = (ctx: PrunerContext) => {
      // @ts-expect-error: counters are the trainer's
      ctx.step = 1;
      // @ts-expect-error: scheduleProgress is a building block of the schedules, not a helper
      void ctx.helpers.scheduleProgress;
      // @ts-expect-error: the optimizer is not part of the context
      void ctx.optimizer;
      return ctx.helpers.targetSparsity('cubic', ctx.pruning, { step: ctx.step, stepsPerEpoch: ctx.stepsPerEpoch, epochs: ctx.epochs });
    };
    expectTypeOf(touch).returns.toBeNumber();
  });
});

describe('definePruner', () => {
  it('infers the options from create and types every hook argument', () => {
    const def = definePruner<{ fraction: number }>({
      name: 'typed',
      optionsSchema: Type.Object({ fraction: Type.Number() }),
      create(options, ctx) {
        expectTypeOf(options).toEqualTypeOf<{ fraction: number }>();
        expectTypeOf(ctx).toEqualTypeOf<PrunerContext>();
        return {
          afterBackward(hookCtx, grads) {
            expectTypeOf(hookCtx).toEqualTypeOf<PrunerContext>();
            expectTypeOf(grads).toEqualTypeOf<GateGradients>();
          },
          afterEpoch(_ctx, epoch, metrics) {
            expectTypeOf(epoch).toBeNumber();
            expectTypeOf(metrics).toEqualTypeOf<Metrics>();
          },
          state: () => ({ fraction: options.fraction, scores: new Float32Array(1) }),
          restore: () => undefined,
        };
      },
    });
    expectTypeOf(def).toEqualTypeOf<PrunerDefinition<{ fraction: number }>>();
    expectTypeOf(def.create).parameter(0).toEqualTypeOf<{ fraction: number }>();
    expectTypeOf(def.create).returns.toEqualTypeOf<PrunerInstance | Promise<PrunerInstance>>();
    // Without a type argument the options are a plain record.
    expectTypeOf(definePruner({ name: 'plain', optionsSchema: {}, create: () => ({ state: () => null, restore: () => undefined }) })).toEqualTypeOf<PrunerDefinition>();
  });

  it('refuses an instance without state/restore, a state that is not JSON or typed arrays, and a mistyped hook', () => {
    definePruner({
      name: 'no-restore',
      optionsSchema: {},
      // @ts-expect-error: restore is required (resume depends on it)
      create: () => ({ state: () => null }),
    });
    definePruner({
      name: 'bad-state',
      optionsSchema: {},
      // @ts-expect-error: a Map is not a PrunerState
      create: () => ({ state: () => new Map<string, number>(), restore: () => undefined }),
    });
    definePruner({
      name: 'bad-hook',
      optionsSchema: {},
      create: () => ({
        // @ts-expect-error: afterStep's step is a number
        afterStep: (_ctx: PrunerContext, step: string) => void step,
        state: () => null,
        restore: () => undefined,
      }),
    });
    definePruner<{ fraction: number }>({
      name: 'bad-options',
      optionsSchema: {},
      // @ts-expect-error: the options are { fraction: number }
      create: (options: { fraction: string }) => ({ state: () => options.fraction, restore: () => undefined }),
    });
    // @ts-expect-error: a definition needs an options schema
    definePruner({ name: 'no-schema', create: () => ({ state: () => null, restore: () => undefined }) });
  });
});
