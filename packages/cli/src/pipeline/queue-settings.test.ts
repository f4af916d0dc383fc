import { describe, expect, it } from 'vitest';
import { parseFlags, RUN_FLAGS } from '../args.js';
import { overridesFromFlags } from '../commands/overrides.js';
import { QUEUE_DEFAULTS } from '../queue/protocol.js';
import { loadPipeline } from './load.js';
import { resolvePipeline } from './resolve.js';

const base = 'name: q\ndefaults: { task: sst2, model: { size: tiny } }\n';
const settings = (text: string, argv: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  resolvePipeline(loadPipeline('/work/x/q.yaml', text), overridesFromFlags(parseFlags(['q.yaml', ...argv], RUN_FLAGS, 'gbp run').flags, env, '/work/x'), '/work/x').run;

describe('queue settings of a run', () => {
  it('no queue by default: a local run with the default attempts and no checkpoints sent back', () => {
    const run = settings(base);
    expect(run.queue).toBeUndefined();
    expect(run).toMatchObject({ queueAttempts: QUEUE_DEFAULTS.attempts, queueCheckpoints: false });
  });

  it('run.queue, queue_attempts and queue_checkpoints from the file; --queue over GBP_QUEUE over the file; --queue-checkpoints', () => {
    const file = `${base}run: { queue: 'redis://file:6379', queue_attempts: 3, queue_checkpoints: false }\n`;
    expect(settings(file)).toMatchObject({ queue: 'redis://file:6379', queueAttempts: 3, queueCheckpoints: false });
    expect(settings(file, [], { GBP_QUEUE: 'redis://env:6379' }).queue).toBe('redis://env:6379');
    expect(settings(file, ['--queue', 'redis://flag:6379', '--queue-checkpoints'], { GBP_QUEUE: 'redis://env:6379' })).toMatchObject({ queue: 'redis://flag:6379', queueCheckpoints: true });
  });
});
