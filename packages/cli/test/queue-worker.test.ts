/**
 * `gbp worker` (built binary) against a real redis-server: jobs enqueued with BullMQ's Queue as the
 * submitter would, events and result files read back from Redis. The fake worker process (same IPC
 * as src/run/worker.ts) keeps the signal and stall tests short; one test runs a real tiny job.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveJobSpec, type PartialJobSpec } from '@gbp/core';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAME, queueJobId, runKeys, type QueuedJob, type QueueEvent } from '../src/queue/protocol.js';
import { redisOptions } from '../src/queue/redis-url.js';
import { redisMissing, startRedis, type TestRedis } from './fixtures/redis-server.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const bin = join(pkg, 'dist', 'bin.js');
const fakeWorker = join(pkg, 'test', 'fixtures', 'fake-worker.mjs');
const dataDir = process.env.GBP_DATA_DIR ?? resolve(pkg, '../../../shared/data/glue');
const skip = redisMissing() || (existsSync(bin) ? '' : `${bin} is not built (npm run build -w @gbp/cli)`);
if (skip) console.warn(`gbp worker tests skipped: ${skip}`);

const dir = mkdtempSync(join(tmpdir(), 'gbp-qworker-'));
let redis: TestRedis;
let client: Redis;
let queue: Queue<QueuedJob>;
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  if (skip) return;
  redis = await startRedis();
  client = new Redis(redisOptions(redis.url));
  queue = new Queue<QueuedJob>(QUEUE_NAME, { connection: redisOptions(redis.url) });
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await queue?.close();
  client?.disconnect();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface RunningWorker {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  exited: Promise<number | null>;
}

/** `gbp worker` with its own cache folder (HOME-like), the fake job process and short lock/stall times. */
function startWorker(args: string[], options: { cache: string; fake?: boolean; env?: Record<string, string> }): RunningWorker {
  const env = {
    ...process.env,
    XDG_CACHE_HOME: options.cache,
    GBP_QUEUE_LOCK_MS: '1500',
    GBP_QUEUE_STALLED_MS: '500',
    GBP_WORKER_ABORT_GRACE_MS: '10000',
    ...(options.fake !== false && { GBP_WORKER: fakeWorker, GBP_FAKE_STEP_MS: '150' }),
    ...options.env,
  };
  const child = spawn(process.execPath, [bin, 'worker', '--queue', redis.url, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, output: () => out, exited };
}

async function waitFor<T>(what: () => string, check: () => Promise<T | undefined> | T | undefined, limitMs = 60_000): Promise<T> {
  const until = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`gave up after ${limitMs / 1000} s waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A zombie (exited, not yet reaped by whoever adopted it) counts as gone. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function events(runId: string): Promise<QueueEvent[]> {
  const entries = await client.xrange(runKeys(runId).events, '-', '+');
  return entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('data') + 1]!) as QueueEvent);
}

const jobEvents = (all: QueueEvent[], type: string) => all.filter((e) => e.kind === 'job' && e.event.type === type);

let runs = 0;
async function enqueue(partial: Partial<PartialJobSpec> & { method: string }, options: { epochs?: number; attempts?: number } = {}) {
  const runId = `run${++runs}`;
  const spec = resolveJobSpec({
    id: `${partial.method.replace(/\W/g, '')}_sst2`,
    task: 'sst2',
    model: { size: 'tiny' },
    train: { epochs: options.epochs ?? 2 },
    ...partial,
    // The submitter's folder: a worker must never write there.
    output_dir: join(dir, 'submitter', runId),
  } as PartialJobSpec);
  const data: QueuedJob = { run_id: runId, spec, submitter_output_dir: join(dir, 'submitter'), send_checkpoints: false };
  const job = await queue.add(spec.id, data, { jobId: queueJobId(runId, spec.id), attempts: options.attempts ?? 1 });
  return { runId, jobId: spec.id, job };
}

const state = async (runId: string, jobId: string) => (await queue.getJob(queueJobId(runId, jobId)))?.getState();

/** Waits until the job completed or failed; says which, with the reason of a failure. */
async function finished(runId: string, jobId: string, worker: RunningWorker, limitMs?: number): Promise<string> {
  return waitFor(
    () => `job ${jobId} to finish; worker said:\n${worker.output()}`,
    async () => {
      const now = await queue.getJobState(queueJobId(runId, jobId));
      if (now !== 'completed' && now !== 'failed') return undefined;
      // Read after the state: a job read first could still be active, without its failedReason.
      const job = await queue.getJob(queueJobId(runId, jobId));
      return `${now}${job!.failedReason ? `: ${job!.failedReason}` : ''}`;
    },
    limitMs,
  );
}

describe.skipIf(Boolean(skip))('gbp worker', () => {
  it('takes an enqueued job, relays its events and leaves its files in Redis with their sha256', async () => {
    const cache = join(dir, 'cache-a');
    const worker = startWorker(['--name', 'wa', '--gpus', '3', '--backend', 'cpu'], { cache });
    const { runId, jobId } = await enqueue({ method: 'baseline' });
    expect(await finished(runId, jobId, worker)).toBe('completed');

    const all = await events(runId);
    const kinds = all.map((e) => (e.kind === 'job' ? `job:${e.event.type}` : e.kind));
    expect(kinds[0]).toBe('taken');
    expect(all[0]).toMatchObject({ kind: 'taken', worker: 'wa', job_id: jobId, attempt: 1, resumed_from: null });
    const start = jobEvents(all, 'start')[0];
    expect(start?.kind === 'job' && start.event.type === 'start' && start.event.backend.requested).toBe('cpu');
    expect(jobEvents(all, 'epoch')).toHaveLength(2);
    expect(kinds.at(-1)).toBe('result');
    expect(kinds.indexOf('job:done')).toBeLessThan(kinds.indexOf('result'));
    expect(all.every((e) => e.kind !== 'job' || (e.worker === 'wa' && e.attempt === 1))).toBe(true);

    const result = all.at(-1) as Extract<QueueEvent, { kind: 'result' }>;
    const paths = result.files.map((f) => f.path);
    expect(paths).toContain('events.ndjson');
    expect(paths).toContain('job.log');
    expect(paths.some((p) => /^accuracy_sparsity_baseline_.*\.png$/.test(p))).toBe(true); // the plots a local run writes after a job
    expect(paths.some((p) => /^results_baseline_.*\.csv$/.test(p))).toBe(true);
    expect(paths.some((p) => p.startsWith('checkpoints/'))).toBe(false);
    const work = join(cache, 'gbp', 'worker', runId, jobId);
    for (const file of result.files) {
      const stored = await client.hgetBuffer(runKeys(runId).files(jobId), file.path);
      expect(stored, file.path).not.toBeNull();
      expect(stored!.length).toBe(file.bytes);
      expect(createHash('sha256').update(stored!).digest('hex'), file.path).toBe(file.sha256);
      expect(file.sha256).toBe(createHash('sha256').update(readFileSync(join(work, file.path))).digest('hex'));
    }
    expect(await client.hlen(runKeys(runId).files(jobId))).toBe(result.files.length);
    // The job process got the GPU as a local run gives it (the fake one prints its environment to job.log).
    expect(String(await client.hgetBuffer(runKeys(runId).files(jobId), 'job.log'))).toContain('env CUDA_VISIBLE_DEVICES=3');
    expect(existsSync(join(dir, 'submitter', runId))).toBe(false);
    expect(worker.output()).toContain(`queue ${redis.url}`);
    expect(worker.output()).toMatch(new RegExp(`taken ${runId}/${jobId} \\(attempt 1, from the start\\)`));
    expect(worker.output()).toMatch(new RegExp(`finished ${runId}/${jobId}: ${result.files.length} files`));

    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  it('on SIGTERM hands a running job back (checkpointed) and a second worker finishes it from the shared checkpoint', async () => {
    const shared = join(dir, 'shared-term');
    const first = startWorker(['--name', 'w1', '--checkpoint-dir', shared], { cache: join(dir, 'cache-t1') });
    const { runId, jobId } = await enqueue({ method: 'slow' }, { epochs: 3 });
    // After epoch 1 (4 steps) its checkpoint is in the shared folder.
    await waitFor(() => `a checkpoint event; worker said:\n${first.output()}`, async () => jobEvents(await events(runId), 'checkpoint').length > 0 || undefined);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toMatch(new RegExp(`released ${runId}/${jobId} \\(worker w1 stopped by SIGTERM\\)`));
    expect(await state(runId, jobId)).toBe('waiting');
    const released = (await events(runId)).find((e) => e.kind === 'released');
    expect(released).toMatchObject({ worker: 'w1', job_id: jobId, attempt: 1, reason: 'worker w1 stopped by SIGTERM' });

    const second = startWorker(['--name', 'w2', '--checkpoint-dir', shared], { cache: join(dir, 'cache-t2') });
    expect(await finished(runId, jobId, second)).toBe('completed');
    const taken = (await events(runId)).filter((e): e is Extract<QueueEvent, { kind: 'taken' }> => e.kind === 'taken');
    expect(taken.map((t) => t.worker)).toEqual(['w1', 'w2']);
    expect(taken[1]!.resumed_from).toBeGreaterThanOrEqual(4);
    const starts = jobEvents(await events(runId), 'start').map((e) => (e.kind === 'job' && e.event.type === 'start' ? e.event.start_step : -1));
    expect(starts[1]).toBeGreaterThanOrEqual(4);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('exits 130 at once on a second signal while a job will not stop', async () => {
    const worker = startWorker(['--name', 'ws'], { cache: join(dir, 'cache-s'), env: { GBP_WORKER: join(pkg, 'test', 'fixtures', 'stubborn-worker.mjs'), GBP_WORKER_ABORT_GRACE_MS: '600000' } });
    const { runId } = await enqueue({ method: 'baseline' });
    await waitFor(() => `the job's first event; worker said:\n${worker.output()}`, async () => jobEvents(await events(runId), 'log').length > 0 || undefined);
    worker.child.kill('SIGTERM');
    await waitFor(() => `the worker to say it stops; it said:\n${worker.output()}`, () => /SIGTERM: handing the running jobs back/.test(worker.output()) || undefined);
    worker.child.kill('SIGINT');
    expect(await worker.exited).toBe(130);
    // ... and its job process with it: no orphan left writing into the job folder.
    const log = jobEvents(await events(runId), 'log')[0];
    const pid = Number(/stubborn (\d+)/.exec(log?.kind === 'job' && log.event.type === 'log' ? log.event.message : '')?.[1]);
    expect(pid).toBeGreaterThan(0);
    try {
      await waitFor(() => `job process ${pid} to be gone`, () => !alive(pid) || undefined, 5_000);
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  for (const shared of [true, false]) {
    it(`after kill -9 of its worker, a job stalls and another worker takes it (${shared ? 'resumed from the shared checkpoint' : 'from the start without a shared folder'})`, async () => {
      const folder = ['--checkpoint-dir', join(dir, `shared-kill-${shared}`)];
      const first = startWorker(['--name', 'k1', ...(shared ? folder : [])], { cache: join(dir, `cache-k1-${shared}`) });
      const { runId, jobId } = await enqueue({ method: 'slow' }, { epochs: 3 });
      await waitFor(() => `a checkpoint event; worker said:\n${first.output()}`, async () => jobEvents(await events(runId), 'checkpoint').length > 0 || undefined);
      first.child.kill('SIGKILL');
      await first.exited;
      const second = startWorker(['--name', 'k2', ...(shared ? folder : [])], { cache: join(dir, `cache-k2-${shared}`) });
      const taken = await waitFor(
        () => `a second 'taken'; worker said:\n${second.output()}`,
        async () => (await events(runId)).filter((e): e is Extract<QueueEvent, { kind: 'taken' }> => e.kind === 'taken' && e.worker === 'k2')[0],
      );
      if (shared) expect(taken.resumed_from).toBeGreaterThanOrEqual(4);
      else expect(taken.resumed_from).toBeNull();
      expect(taken.attempt).toBe(2);
      expect(await finished(runId, jobId, second)).toBe('completed');
      // The job process really continued there (or started over).
      const starts = jobEvents(await events(runId), 'start').map((e) => (e.kind === 'job' && e.event.type === 'start' ? e.event.start_step : -1));
      expect(starts.at(-1)).toBe(shared ? taken.resumed_from : 0);
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    });
  }

  it('runs --concurrency jobs at once', async () => {
    const worker = startWorker(['--name', 'wc', '--concurrency', '2'], { cache: join(dir, 'cache-c') });
    const a = await enqueue({ method: 'slow' }, { epochs: 1 });
    const b = await enqueue({ method: 'slow' }, { epochs: 1 });
    // Both taken before either finished: a slow job takes 2 s.
    await waitFor(() => `both jobs taken; worker said:\n${worker.output()}`, async () => {
      const [ea, eb] = await Promise.all([events(a.runId), events(b.runId)]);
      return ea.some((e) => e.kind === 'taken') && eb.some((e) => e.kind === 'taken') || undefined;
    });
    expect((await events(a.runId)).some((e) => e.kind === 'result')).toBe(false);
    await waitFor(() => `both completed; worker said:\n${worker.output()}`, async () => ((await state(a.runId, a.jobId)) === 'completed' && (await state(b.runId, b.jobId)) === 'completed') || undefined);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  it('fails a job whose run id is not a plain folder name, before running anything', async () => {
    const worker = startWorker(['--name', 'wr'], { cache: join(dir, 'cache-r') });
    const spec = resolveJobSpec({ id: 'baseline_sst2', task: 'sst2', model: { size: 'tiny' }, output_dir: join(dir, 'submitter', 'evil') });
    const job = await queue.add('evil', { run_id: '../../evil', spec, submitter_output_dir: dir, send_checkpoints: false }, { jobId: 'evil-run' });
    await waitFor(() => `job failed; worker said:\n${worker.output()}`, async () => (await job.getState()) === 'failed' || undefined);
    expect((await queue.getJob('evil-run'))!.failedReason).toBe(`queued job: run_id "../../evil" is not a plain folder name (letters, digits, '.', '_', '-')`);
    expect(existsSync(join(dir, 'evil'))).toBe(false);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  it('fails a job that fails by itself once, with its error, and goes on', async () => {
    const worker = startWorker(['--name', 'wf'], { cache: join(dir, 'cache-f') });
    const { runId, jobId, job } = await enqueue({ method: 'fail' });
    expect(await finished(runId, jobId, worker)).toMatch(/^failed: /);
    const failed = await queue.getJob(job.id!);
    expect(failed!.failedReason).toContain('pruner fail, hook afterStep: boom');
    expect(failed!.attemptsMade).toBe(1);
    const all = await events(runId);
    expect(all.filter((e) => e.kind === 'taken')).toHaveLength(1);
    expect(all.find((e) => e.kind === 'released')).toMatchObject({ reason: 'failed: pruner fail, hook afterStep: boom' });
    expect(worker.output()).toContain(`failed ${runId}/${jobId}: pruner fail, hook afterStep: boom`);

    // The worker is still taking jobs.
    const next = await enqueue({ method: 'baseline' });
    await waitFor(() => `next job completed; worker said:\n${worker.output()}`, async () => (await state(next.runId, next.jobId)) === 'completed');
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  it('fails a job whose method path is not on this worker, naming the path', async () => {
    const worker = startWorker(['--name', 'wp'], { cache: join(dir, 'cache-p') });
    const missing = join(dir, 'nowhere', 'my-pruner.mjs');
    const { runId, jobId, job } = await enqueue({ method: missing });
    expect(await finished(runId, jobId, worker)).toMatch(/^failed: /);
    const failedReason = (await queue.getJob(job.id!))!.failedReason;
    expect(failedReason).toBe(`job ${jobId}: method ${missing} does not exist on worker wp (the queue carries specs, not code: install or copy it here at that path)`);
    const failedEvent = jobEvents(await events(runId), 'failed')[0];
    expect(failedEvent?.kind === 'job' && failedEvent.event.type === 'failed' && failedEvent.event.error.message).toBe(failedReason);
    // Nothing ran: no job folder was made.
    expect(existsSync(join(dir, 'cache-p', 'gbp', 'worker', runId, jobId))).toBe(false);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  const tinyData = existsSync(join(dataDir, 'sst2', 'train.jsonl'));
  it.skipIf(!tinyData)('runs a real tiny job (src/run/worker.ts, GLUE sst2) and sends its results', async () => {
    const worker = startWorker(['--name', 'real', '--backend', 'wasm'], { cache: join(dir, 'cache-real'), fake: false });
    const { runId, jobId } = await enqueue({
      method: 'magnitude',
      model: { size: 'tiny', num_layers: 1, d_model: 32, num_heads: 2, dff: 64, vocab_size: 1000, max_len: 16 },
      train: { epochs: 1, batch_size: 16, max_train_examples: 64, max_eval_examples: 16 },
      data: { dir: dataDir, offline: true, cache_dir: join(dir, 'data-cache') },
      // What the submitter's plan resolved on its machine: ignored here.
      method_module: 'file:///submitter/only/pruner.js',
    } as Partial<PartialJobSpec> & { method: string });
    expect(await finished(runId, jobId, worker, 180_000)).toBe('completed');
    const all = await events(runId);
    const start = jobEvents(all, 'start')[0];
    expect(start?.kind === 'job' && start.event.type === 'start' && start.event.backend.requested).toBe('wasm');
    const result = all.at(-1) as Extract<QueueEvent, { kind: 'result' }>;
    expect(result.kind).toBe('result');
    const paths = result.files.map((f) => f.path);
    expect(paths.some((p) => /^results_magnitude_.*\.csv$/.test(p))).toBe(true);
    expect(paths.some((p) => p.startsWith('model/'))).toBe(true);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  }, 240_000);
});

describe.skipIf(Boolean(skip))('gbp worker refuses a queue it cannot use', () => {
  const run = (url: string) =>
    new Promise<{ code: number | null; out: string }>((done) => {
      const child = spawn(process.execPath, [bin, 'worker', '--queue', url], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += String(d)));
      child.stderr.on('data', (d) => (out += String(d)));
      child.on('exit', (code) => done({ code, out }));
    });

  it('names the redacted URL of an unreachable Redis and exits 2', async () => {
    const { code, out } = await run('redis://alice:s3cret-pw@127.0.0.1:1');
    expect(code).toBe(2);
    expect(out).toContain('queue redis://alice:***@127.0.0.1:1: cannot connect (');
    expect(out).not.toContain('s3cret-pw');
  });

  it('says authentication failed for a wrong password, never printing it, and exits 2', async () => {
    const locked = await startRedis({ password: 'right-pw' });
    try {
      const { code, out } = await run(`redis://:wrong-pw@127.0.0.1:${locked.port}`);
      expect(code).toBe(2);
      expect(out).toContain(`queue redis://:***@127.0.0.1:${locked.port}: authentication failed (`);
      expect(out).not.toContain('wrong-pw');
      // With the right password it starts, printing the URL with '***'.
      const good = spawn(process.execPath, [bin, 'worker', '--queue', locked.url, '--name', 'pw'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_CACHE_HOME: join(dir, 'cache-pw') } });
      let started = '';
      good.stdout.on('data', (d) => (started += String(d)));
      good.stderr.on('data', (d) => (started += String(d)));
      const goodExit = new Promise<number | null>((done) => good.on('exit', done));
      await waitFor(() => `the worker to start; it said:\n${started}`, () => /gbp worker pw: queue/.test(started) || undefined);
      good.kill('SIGTERM');
      expect(await goodExit).toBe(0);
      expect(started).toContain(`gbp worker pw: queue redis://:***@127.0.0.1:${locked.port}, 1 job at a time`);
      expect(started).not.toContain('right-pw');
      const none = await run(`redis://127.0.0.1:${locked.port}`);
      expect(none.code).toBe(2);
      expect(none.out).toContain(`queue redis://127.0.0.1:${locked.port}: authentication failed (`);
    } finally {
      await locked.stop();
    }
  });

  it('refuses a URL that is not redis:// before connecting', async () => {
    const { code, out } = await run('http://bob:hunter2@example.invalid:6379');
    expect(code).toBe(2);
    expect(out).toContain('scheme http: is not redis: or rediss:');
    expect(out).not.toContain('hunter2');
  });
});
