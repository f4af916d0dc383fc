import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachPlainReporter } from '../report/plain.js';
import { fakePlan, type FakeJob } from '../../test/fixtures/fake-plan.js';
import { redisMissing, startRedis, type TestRedis } from '../../test/fixtures/redis-server.js';
import { readPlanFile } from '../run/plan-file.js';
import { RunRefusedError } from '../run/run-refused.js';
import { runPlan, type RunPlanOptions } from '../run/run-plan.js';
import type { RunStore } from '../run/store.js';
import { QUEUE_NAME, queueJobId, runKeys, type QueuedJob, type QueueEvent, type ResultFile } from './protocol.js';
import { redisOptions } from './redis-url.js';

const missing = redisMissing();
const root = mkdtempSync(join(tmpdir(), 'gbp-submit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let redis: TestRedis;
let client: Redis;
let worker: Worker<QueuedJob>;
/** Processor calls per gbp job id, and what the fake worker saw when it took a job. */
const calls = new Map<string, number>();
const sawNeedsDone = new Map<string, boolean>();
/** Jobs with method 'hold' wait until their id is released here. */
const released = new Set<string>();
/** Jobs with method 'toggle' fail while their id is here. */
const failing = new Set<string>(['again']);

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * A stand-in for `gbp worker`, per the protocol: events tagged with the worker, the job's files in
 * the files hash, then a 'result' event. Method names pick its behaviour: fail, badsha, hold.
 */
async function fakeProcessor(job: Job<QueuedJob>): Promise<void> {
  const { run_id: run, spec } = job.data;
  const id = spec.id;
  calls.set(id, (calls.get(id) ?? 0) + 1);
  const keys = runKeys(run);
  const attempt = job.attemptsMade + 1;
  const publish = (event: QueueEvent) => client.xadd(keys.events, '*', 'data', JSON.stringify(event));
  const jobEvent = (event: Extract<QueueEvent, { kind: 'job' }>['event']) => publish({ kind: 'job', worker: 'fake-A', attempt, event });
  if (id === 'after') sawNeedsDone.set(id, existsSync(join(job.data.submitter_output_dir, '..', 'results_a', 'metrics.json')));
  await publish({ kind: 'taken', worker: 'fake-A', job_id: id, attempt, resumed_from: spec.method === 'flaky' && attempt > 1 ? 4 : null, time: Date.now() });
  await jobEvent({ type: 'start', job_id: id, spec, backend: { name: 'cpu', requested: spec.backend, reason: 'fake' }, model_info: { model_size: 'tiny' } as never, steps_per_epoch: 4, total_steps: 8, start_step: 0, time: Date.now() });
  await jobEvent({ type: 'progress', job_id: id, epoch: 1, step: 4, epoch_step: 4, steps_per_epoch: 4, total_steps: 8, loss: 0.5, lr: 1e-3, sparsity: 0.25, tokens_per_s: 1000, time: Date.now() });
  if (spec.method === 'fail' || (spec.method === 'flaky' && attempt === 1) || (spec.method === 'toggle' && failing.has(id))) {
    if (spec.method === 'flaky') await publish({ kind: 'released', worker: 'fake-A', job_id: id, attempt, reason: 'failed: pruner fail, hook afterStep: boom', time: Date.now() });
    await jobEvent({ type: 'failed', job_id: id, error: { message: 'pruner fail, hook afterStep: boom', plugin: 'fail', hook: 'afterStep' }, time: Date.now() });
    throw new Error('pruner fail, hook afterStep: boom');
  }
  while (spec.method === 'hold' && !released.has(id)) await new Promise((r) => setTimeout(r, 50));
  await jobEvent({ type: 'epoch', job_id: id, epoch: 2, train_loss: 0.4, eval_loss: 0.3, metrics: { accuracy: 0.75 }, sparsity: 0.5, time: Date.now() } as never);
  const files: Record<string, string> = { 'metrics.json': `{"job":"${id}","accuracy":0.75}\n`, 'model/config.json': '{"layers":2}\n' };
  if (spec.method === 'escape') files['../escaped.txt'] = 'outside\n';
  // As gbp worker sends it: the job folder's own job.log (its job process's output).
  files['job.log'] = `worker log of ${id}\n`;
  const listed: ResultFile[] = Object.entries(files).map(([path, text]) => ({ path, bytes: Buffer.byteLength(text), sha256: spec.method === 'badsha' ? sha256('other') : sha256(text) }));
  await client.hset(keys.files(id), files);
  await jobEvent({ type: 'done', job_id: id, result: { job_id: id } as never, time: Date.now() });
  await publish({ kind: 'result', worker: 'fake-A', job_id: id, files: listed, time: Date.now() });
}

describe.skipIf(missing)('gbp run on a queue (a fake BullMQ worker)', () => {
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redisOptions(redis.url));
    worker = new Worker<QueuedJob>(QUEUE_NAME, fakeProcessor, { connection: redisOptions(redis.url), concurrency: 4 });
  });
  afterAll(async () => {
    await worker?.close();
    client?.disconnect();
    await redis?.stop();
  });

  const run = (name: string, jobs: readonly FakeJob[], options: Omit<RunPlanOptions, 'queue'> = {}, attempts = 1) => {
    const plan = fakePlan(root, name, jobs);
    return { plan, outcome: runPlan(plan, { plots: false, bench: false, ...options, queue: { url: redis.url, attempts, sendCheckpoints: false, pollMs: 100 } }) };
  };

  it('drives statuses and the dashboard from the events stream, writes the files where a local run would, and enqueues a job once its needs are done', async () => {
    const workers = new Map<string, string | undefined>();
    const onStore = (store: RunStore) => store.subscribe((views) => views.forEach((v) => v.worker && workers.set(v.id, v.worker)));
    const { plan, outcome } = run('ok', [{ id: 'a', method: 'baseline' }, { id: 'after', method: 'baseline', needs: ['a'] }], { onStore });
    const result = await outcome;
    expect(result.views.map((v) => v.status)).toEqual(['done', 'done']);
    expect(result.views[0]).toMatchObject({ worker: 'fake-A', epoch: 2, step: 8, totalSteps: 8, metric: { name: 'accuracy', value: 0.75 }, sparsity: 0.5 });
    expect(result.views[0]!.logs).toContain('info: taken by fake-A (attempt 1): started');
    expect(workers.get('after')).toBe('fake-A');
    expect(sawNeedsDone.get('after')).toBe(true);
    const dir = join(plan.output_dir, 'results_a');
    expect(readFileSync(join(dir, 'metrics.json'), 'utf8')).toBe('{"job":"a","accuracy":0.75}\n');
    expect(readFileSync(join(dir, 'model', 'config.json'), 'utf8')).toBe('{"layers":2}\n');
    expect(readdirSync(dir).sort()).toEqual(['job.log', 'metrics.json', 'model']);
    // The worker's job.log is inside ours, between this run's own lines, not over them.
    expect(readFileSync(join(dir, 'job.log'), 'utf8')).toMatch(
      /queued a on redis:\/\/127\.0\.0\.1:\d+ .*\n.*taken by fake-A[\s\S]*--- fake-A's job.log\nworker log of a\n--- end of fake-A's job.log\n.* 2 result files from fake-A written to .*\n.* done\n$/,
    );
    const planFile = readPlanFile(plan.output_dir)!;
    expect(planFile.status).toMatchObject({ a: { status: 'done' }, after: { status: 'done' } });
    // The files hash is deleted once written.
    expect(await client.exists(runKeys(planFile.queue!.run_id).files('a'))).toBe(0);
  });

  it('fails a job whose file has a bad sha256 and writes none of its files', async () => {
    const { plan, outcome } = run('badsha', [{ id: 'bad', method: 'badsha' }]);
    const [view] = (await outcome).views;
    expect(view!.status).toBe('failed');
    const text = '{"job":"bad","accuracy":0.75}\n';
    const size = Buffer.byteLength(text);
    expect(view!.error!.message).toBe(
      `job bad: result file 'metrics.json' is damaged: expected ${size} bytes with sha256 ${sha256('other')}, got ${size} bytes with sha256 ${sha256(text)}; nothing was written to ${join(plan.output_dir, 'results_bad')}`,
    );
    expect(readdirSync(join(plan.output_dir, 'results_bad'))).toEqual(['job.log']);
  });

  it("refuses a result path that leaves the job's folder: the job fails, nothing is written", async () => {
    const { plan, outcome } = run('escape', [{ id: 'esc', method: 'escape' }]);
    const [view] = (await outcome).views;
    expect(view).toMatchObject({
      status: 'failed',
      error: { message: `job esc: result file '../escaped.txt' has an empty, '.' or '..' part; nothing was written to ${join(plan.output_dir, 'results_esc')}` },
    });
    expect(existsSync(join(plan.output_dir, 'escaped.txt'))).toBe(false);
    expect(readdirSync(join(plan.output_dir, 'results_esc'))).toEqual(['job.log']);
  });

  it('shows a job handed back and taken again (released, resumed from a checkpoint) in the plain reporter, with its worker; the retry finishes it', async () => {
    const out: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (out.push(String(chunk)), done()) });
    const { outcome } = run('flaky', [{ id: 'flaky', method: 'flaky' }], { onStore: (store) => attachPlainReporter(store, { out: sink }) }, 2);
    const [view] = (await outcome).views;
    expect(view).toMatchObject({ status: 'done', worker: 'fake-A' });
    expect(calls.get('flaky')).toBe(2);
    const text = out.join('');
    expect(text).toContain('[flaky] start flaky sst2 tiny: 8 steps on cpu (fake) on worker fake-A\n');
    expect(text).toContain('[flaky] warn [queue]: attempt 1 on fake-A failed: pruner fail, hook afterStep: boom\n');
    expect(text).toContain('[flaky] warn [queue]: released by fake-A (attempt 1): failed: pruner fail, hook afterStep: boom\n');
    expect(text).toContain('[flaky] info [queue]: taken by fake-A (attempt 2): resumed from checkpoint step 4\n');
    expect(text).toMatch(/\[flaky\] done: accuracy 0\.7500 sparsity 0\.500 -> .*results_flaky\n/);
  });

  it('fails a failing job once, with the error its worker reported, and blocks its dependants', async () => {
    const { outcome } = run('fail', [
      { id: 'boom', method: 'fail' },
      { id: 'fine', method: 'baseline' },
      { id: 'later', method: 'baseline', needs: ['boom'] },
    ]);
    const result = await outcome;
    const [boom, fine, later] = result.views;
    expect(boom).toMatchObject({ status: 'failed', error: { message: 'pruner fail, hook afterStep: boom', plugin: 'fail' } });
    expect(calls.get('boom')).toBe(1);
    expect(fine!.status).toBe('done');
    expect(later).toMatchObject({ status: 'blocked', error: { message: 'needs job boom, which did not finish' } });
    expect(calls.get('later')).toBeUndefined();
    expect(result.failed).toBe(2);
  });

  it('leaves the queue as it is on abort; --resume re-attaches without enqueueing finished or queued jobs again', async () => {
    const controller = new AbortController();
    const stopWhenDone = (store: RunStore) => store.subscribe((views) => views.find((v) => v.id === 'r1')?.status === 'done' && controller.abort());
    const first = run('resume', [{ id: 'r1', method: 'baseline' }, { id: 'r2', method: 'hold' }], { signal: controller.signal, onStore: stopWhenDone });
    const stopped = await first.outcome;
    expect(stopped.aborted).toBe(true);
    expect(stopped.views.map((v) => v.status)).toEqual(['done', 'aborted']);
    expect(stopped.views[1]!.error!.message).toBe('still on the queue: it keeps running on a worker; gbp run --resume re-attaches');
    const runId = readPlanFile(first.plan.output_dir)!.queue!.run_id;
    const queue = new Queue(QUEUE_NAME, { connection: redisOptions(redis.url) });
    const queuedAt = (await queue.getJob(queueJobId(runId, 'r2')))!.timestamp;

    released.add('r2');
    const second = run('resume', [{ id: 'r1', method: 'baseline' }, { id: 'r2', method: 'hold' }], { resume: true });
    const resumed = await second.outcome;
    // r1 finished as the first session was stopped: skipped when plan.json recorded it before the
    // stop, else re-attached and settled from the queue; either way it did not run again (below).
    expect(['skipped', 'done']).toContain(resumed.views[0]!.status);
    expect(resumed.views[1]!.status).toBe('done');
    expect(readPlanFile(second.plan.output_dir)!.queue!.run_id).toBe(runId);
    expect(calls.get('r1')).toBe(1);
    expect(calls.get('r2')).toBe(1);
    expect((await queue.getJob(queueJobId(runId, 'r2')))!.timestamp).toBe(queuedAt);
    // The events of the first session were replayed: the job's view knows its worker and epochs.
    expect(resumed.views[1]).toMatchObject({ worker: 'fake-A', metric: { name: 'accuracy', value: 0.75 } });
    expect(readFileSync(join(second.plan.output_dir, 'results_r2', 'metrics.json'), 'utf8')).toContain('"r2"');
    await queue.close();
  });
});

describe.skipIf(missing)('gbp run --queue --resume after a failure', () => {
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redisOptions(redis.url));
    worker = new Worker<QueuedJob>(QUEUE_NAME, fakeProcessor, { connection: redisOptions(redis.url), concurrency: 4 });
  });
  afterAll(async () => {
    await worker?.close();
    client?.disconnect();
    await redis?.stop();
  });

  it('queues a job the queue failed for good again, as a local --resume runs a failed job again', async () => {
    const plan = fakePlan(root, 'again', [{ id: 'again', method: 'toggle' }]);
    const queue = { url: redis.url, attempts: 1, sendCheckpoints: false, pollMs: 100 };
    const first = await runPlan(plan, { plots: false, bench: false, queue });
    expect(first.views[0]).toMatchObject({ status: 'failed', error: { message: 'pruner fail, hook afterStep: boom' } });
    failing.delete('again');
    const second = await runPlan(plan, { plots: false, bench: false, resume: true, queue });
    expect(second.views[0]!.status).toBe('done');
    expect(calls.get('again')).toBe(2);
    expect(readFileSync(join(plan.output_dir, 'results_again', 'job.log'), 'utf8')).toContain('again failed on the queue before; queued again');
  });
});

describe.skipIf(missing)('gbp run --queue while Redis goes away', () => {
  it('says so once (not per reconnect), keeps the results already written, and stops waiting on Ctrl-C', async () => {
    const own = await startRedis();
    const ownClient = new Redis(redisOptions(own.url));
    const taken = new Set<string>();
    const ownWorker = new Worker<QueuedJob>(
      QUEUE_NAME,
      async (job) => {
        const id = job.data.spec.id;
        taken.add(id);
        // 'quick' finishes; 'stuck' never does (its machine is cut off with Redis).
        if (id === 'stuck') return new Promise(() => undefined);
        const text = `{"job":"${id}"}\n`;
        await ownClient.hset(runKeys(job.data.run_id).files(id), { 'metrics.json': text });
        const event: QueueEvent = { kind: 'result', worker: 'fake-B', job_id: id, files: [{ path: 'metrics.json', bytes: Buffer.byteLength(text), sha256: sha256(text) }], time: Date.now() };
        await ownClient.xadd(runKeys(job.data.run_id).events, '*', 'data', JSON.stringify(event));
      },
      { connection: redisOptions(own.url), concurrency: 2 },
    );
    const notes: string[] = [];
    const controller = new AbortController();
    let stopped = false;
    const plan = fakePlan(root, 'redisgone', [{ id: 'quick', method: 'baseline' }, { id: 'stuck', method: 'baseline' }]);
    const onStore = (store: RunStore) =>
      store.subscribe((views) => {
        if (stopped || views[0]!.status !== 'done' || !taken.has('stuck')) return;
        stopped = true;
        // Redis goes away with a job still running; the user waits a little, then presses Ctrl-C.
        void ownWorker.close(true).then(() => {
          ownClient.disconnect();
          return own.stop();
        });
      });
    const note = (message: string) => {
      notes.push(message);
      // The user presses Ctrl-C a while later: time for the clients to retry (each retry used to print a line).
      if (/ECONNREFUSED/.test(message)) setTimeout(() => controller.abort(), 1_000);
    };
    const outcome = await runPlan(plan, { plots: false, bench: false, signal: controller.signal, note, onStore, queue: { url: own.url, attempts: 1, sendCheckpoints: false, pollMs: 100 } });
    expect(outcome.aborted).toBe(true);
    expect(outcome.views.map((v) => v.status)).toEqual(['done', 'aborted']);
    expect(readFileSync(join(plan.output_dir, 'results_quick', 'metrics.json'), 'utf8')).toBe('{"job":"quick"}\n');
    expect(readPlanFile(plan.output_dir)!.status).toMatchObject({ quick: { status: 'done' }, stuck: { status: 'aborted' } });
    const warnings = notes.filter((n) => n.startsWith(`queue ${own.url}: `));
    expect(warnings.length).toBeGreaterThan(0);
    expect(new Set(warnings).size).toBe(warnings.length);
    expect(warnings[0]).toMatch(/; still trying \(Ctrl-C stops waiting\)$/);
  });
});

describe.skipIf(missing)('gbp run --queue refuses an unusable queue before writing anything', () => {
  let secured: TestRedis;
  beforeAll(async () => {
    secured = await startRedis({ password: 'right-pass' });
  });
  afterAll(() => secured?.stop());

  const attempt = (name: string, url: string) => {
    const plan = fakePlan(root, name, [{ id: 'a', method: 'baseline' }]);
    return { plan, outcome: runPlan(plan, { plots: false, bench: false, queue: { url, attempts: 1, sendCheckpoints: false } }) };
  };

  it('a wrong password: refused naming the redacted URL, never the password', async () => {
    const { plan, outcome } = attempt('wrongpass', `redis://:wrong-pass@127.0.0.1:${secured.port}`);
    const error = (await outcome.then(
      () => new Error("expected a refusal"),
      (e: unknown) => e as Error,
    ));
    expect(error).toBeInstanceOf(RunRefusedError);
    expect(error.message).toMatch(new RegExp(`^gbp run: queue redis://:\\*\\*\\*@127\\.0\\.0\\.1:${secured.port}: cannot use Redis \\(WRONGPASS`));
    expect(error.message).not.toContain('wrong-pass');
    expect(existsSync(plan.output_dir)).toBe(false);
  });

  it('Redis down: refused naming the URL, nothing written', async () => {
    const down = await startRedis();
    await down.stop();
    const { plan, outcome } = attempt('down', `redis://:pw-down@127.0.0.1:${down.port}`);
    const error = (await outcome.then(
      () => new Error("expected a refusal"),
      (e: unknown) => e as Error,
    ));
    expect(error).toBeInstanceOf(RunRefusedError);
    expect(error.message).toMatch(new RegExp(`^gbp run: queue redis://:\\*\\*\\*@127\\.0\\.0\\.1:${down.port}: cannot use Redis \\(.*ECONNREFUSED`));
    expect(error.message).not.toContain('pw-down');
    expect(existsSync(plan.output_dir)).toBe(false);
  });
});
