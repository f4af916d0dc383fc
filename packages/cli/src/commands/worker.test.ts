/** gbp worker's usage checks, in process: refused before any connection. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli.js';
import { captureIO } from '../../test/fixtures/capture-io.js';

const dir = mkdtempSync(join(tmpdir(), 'gbp-worker-cmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gbp worker usage', () => {
  it('-h lists its flags, and gbp --help lists the command', async () => {
    const h = captureIO(dir);
    expect(await main(['worker', '-h'], h.value)).toBe(0);
    for (const flag of ['--queue URL', '--concurrency N', '--backend NAME', '--name NAME', '--gpus ID[,ID]', '--checkpoint-dir DIR']) expect(h.out()).toContain(flag);
    const top = captureIO(dir);
    expect(await main(['--help'], top.value)).toBe(0);
    expect(top.out()).toContain('gbp worker --queue URL');
  });

  it('needs a queue (flag or GBP_QUEUE) and takes no arguments: exit 2', async () => {
    const none = captureIO(dir);
    expect(await main(['worker'], none.value)).toBe(2);
    expect(none.err()).toContain('gbp worker: no queue; give --queue redis://host:port or set GBP_QUEUE');
    const extra = captureIO(dir);
    expect(await main(['worker', '--queue', 'redis://127.0.0.1:1', 'jobs.yaml'], extra.value)).toBe(2);
    expect(extra.err()).toContain('gbp worker: takes no arguments, got jobs.yaml');
  });

  it('refuses a malformed GBP_QUEUE and bad test timings before connecting, never printing the password', async () => {
    const env = captureIO(dir, { GBP_QUEUE: 'redis://u:pw-123@127.0.0.1:6379/x' });
    expect(await main(['worker'], env.value)).toBe(2);
    expect(env.err()).toContain("queue redis://u:***@127.0.0.1:6379/x: database 'x' is not a number");
    expect(env.err()).not.toContain('pw-123');
    const timing = captureIO(dir, { GBP_QUEUE_LOCK_MS: 'soon' });
    expect(await main(['worker', '--queue', 'redis://127.0.0.1:1'], timing.value)).toBe(2);
    expect(timing.err()).toContain("gbp worker: GBP_QUEUE_LOCK_MS must be a positive number of milliseconds, got 'soon'");
  });
});
