import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli.js';
import { captureIO } from '../../test/fixtures/capture-io.js';
import { redisMissing, startRedis, type TestRedis } from '../../test/fixtures/redis-server.js';
import { QUEUE_NAME } from '../queue/protocol.js';
import { redisOptions } from '../queue/redis-url.js';
import { readPlanFile } from '../run/plan-file.js';

const dir = mkdtempSync(join(tmpdir(), 'gbp-run-queue-'));
const file = join(dir, 'p.yaml');
const results = join(dir, 'results');
writeFileSync(file, 'name: p\ndefaults: { task: sst2, model: { size: tiny } }\n');

describe.skipIf(redisMissing())('gbp run --queue: the queue is asked first', () => {
  let secured: TestRedis;
  let downPort: number;
  beforeAll(async () => {
    secured = await startRedis({ password: 'right-pass' });
    const down = await startRedis();
    downPort = down.port;
    await down.stop();
  });
  afterAll(async () => {
    await secured?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const refusal = (port: number, reason: string) =>
    `gbp run: queue redis://:***@127.0.0.1:${port}: cannot use Redis (${reason}); check the address and password (--queue, GBP_QUEUE or run.queue); nothing was written or enqueued\n`;

  it('a wrong password: exit 2, the redacted URL and the reason alone, the password nowhere, nothing written', async () => {
    const t = captureIO(dir);
    expect(await main(['run', file, '--output', results, '--queue', `redis://:wrong-pass@127.0.0.1:${secured.port}`], t.value)).toBe(2);
    expect(t.err()).toBe(refusal(secured.port, 'WRONGPASS invalid username-password pair or user is disabled.'));
    expect(`${t.out()}${t.err()}`).not.toContain('wrong-pass');
    expect(existsSync(results)).toBe(false);
  });

  it('GBP_QUEUE applies without --queue, and --queue wins over it', async () => {
    const env = captureIO(dir, { GBP_QUEUE: `redis://:env-pass@127.0.0.1:${downPort}` });
    expect(await main(['run', file, '--output', results], env.value)).toBe(2);
    expect(env.err()).toBe(refusal(downPort, `connect ECONNREFUSED 127.0.0.1:${downPort}`));
    const flag = captureIO(dir, { GBP_QUEUE: `redis://:env-pass@127.0.0.1:${downPort}` });
    expect(await main(['run', file, '--output', results, '--queue', `redis://:wrong-pass@127.0.0.1:${secured.port}`], flag.value)).toBe(2);
    expect(flag.err()).toBe(refusal(secured.port, 'WRONGPASS invalid username-password pair or user is disabled.'));
    expect(existsSync(results)).toBe(false);
  });

  it("the pipeline file's run.queue applies, and a URL that is not redis:// is refused by the file's schema at its line", async () => {
    const withQueue = join(dir, 'q.yaml');
    writeFileSync(withQueue, `name: q\ndefaults: { task: sst2, model: { size: tiny } }\nrun:\n  queue: redis://:file-pass@127.0.0.1:${downPort}\n`);
    const t = captureIO(dir);
    expect(await main(['run', withQueue, '--output', results], t.value)).toBe(2);
    expect(t.err()).toBe(refusal(downPort, `connect ECONNREFUSED 127.0.0.1:${downPort}`));
    const badScheme = join(dir, 'bad.yaml');
    writeFileSync(badScheme, 'name: bad\ndefaults: { task: sst2, model: { size: tiny } }\nrun:\n  queue: http://127.0.0.1:6379\n');
    const bad = captureIO(dir);
    expect(await main(['run', badScheme, '--output', results], bad.value)).toBe(2);
    expect(bad.err()).toMatch(/bad\.yaml:4:\d+: run\.queue.*\^rediss\?:\/\//);
    expect(existsSync(results)).toBe(false);
  });

  it('a --queue that is not a redis URL: exit 2 naming what is expected', async () => {
    const t = captureIO(dir);
    expect(await main(['run', file, '--output', results, '--queue', 'http://:secret@host:1'], t.value)).toBe(2);
    expect(t.err()).toBe('gbp run: queue http://:***@host:1: scheme http: is not redis: or rediss:; nothing was written\n');
  });

  it('Ctrl-C stops waiting, leaves the job on the queue, says so and exits 130', async () => {
    const t = captureIO(dir);
    let handler: ((signal: NodeJS.Signals) => void) | undefined;
    t.value.onSignals = (h) => ((handler = h), () => (handler = undefined));
    const output = join(dir, 'stopped');
    const code = main(['run', file, '--output', output, '--queue', `redis://:right-pass@127.0.0.1:${secured.port}`], t.value);
    // No worker serves this Redis: the job waits on the queue until the user stops waiting.
    const queue = new Queue(QUEUE_NAME, { connection: redisOptions(secured.url) });
    const end = Date.now() + 20_000;
    while ((await queue.getJobCounts('wait')).wait === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    handler!('SIGINT');
    expect(await code).toBe(130);
    expect(t.err()).toContain('gbp: SIGINT: no longer waiting; the jobs stay on the queue and keep running on the workers; gbp run --resume re-attaches\n');
    expect(t.out()).toContain(`gbp run p: 1 jobs on queue redis://:***@127.0.0.1:${secured.port} -> ${join(output, 'p')}\n`);
    expect(t.out()).toContain('[baseline_sst2] aborted: still on the queue: it keeps running on a worker; gbp run --resume re-attaches\n');
    expect(t.out()).toContain(`stopped; continue with: gbp run ${file} --output ${output} --queue redis://:***@127.0.0.1:${secured.port} --resume\n`);
    expect(`${t.out()}${t.err()}`).not.toContain('right-pass');
    expect((await queue.getJobCounts('wait')).wait).toBe(1);
    expect(readPlanFile(join(output, 'p'))!.queue!.url).toBe(`redis://:***@127.0.0.1:${secured.port}`);
    await queue.close();
  });
});
