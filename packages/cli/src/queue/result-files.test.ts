import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisMissing, startRedis, type TestRedis } from '../../test/fixtures/redis-server.js';
import { runKeys } from './protocol.js';
import { redisOptions } from './redis-url.js';
import { fetchResultFiles, unsafeResultPath } from './result-files.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const root = mkdtempSync(join(tmpdir(), 'gbp-result-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('unsafeResultPath', () => {
  it('allows relative /-separated paths and names what is wrong with the others', () => {
    expect(unsafeResultPath('model/config.json')).toBeUndefined();
    expect(unsafeResultPath('/etc/passwd')).toBe('not a relative /-separated path');
    expect(unsafeResultPath('C:/x')).toBe('not a relative /-separated path');
    expect(unsafeResultPath('a\\b')).toBe('not a relative /-separated path');
    expect(unsafeResultPath('a/../../b')).toBe("has an empty, '.' or '..' part");
    expect(unsafeResultPath('a//b')).toBe("has an empty, '.' or '..' part");
  });
});

describe.skipIf(redisMissing())('fetchResultFiles', () => {
  let redis: TestRedis;
  let client: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redisOptions(redis.url));
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('accepts a file an earlier submitter already wrote (the hash gone) when its sha256 matches, and refuses one that differs', async () => {
    const dir = join(root, 'job');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'metrics.json'), 'kept\n');
    await client.hset(runKeys('r').files('j'), { 'new.json': 'new\n' });
    const written = await fetchResultFiles(client, 'r', 'j', dir, [
      { path: 'metrics.json', bytes: 5, sha256: sha256('kept\n') },
      { path: 'new.json', bytes: 4, sha256: sha256('new\n') },
    ]);
    expect(written).toEqual({ written: [join(dir, 'metrics.json'), join(dir, 'new.json')], held: new Map() });
    expect(readFileSync(join(dir, 'new.json'), 'utf8')).toBe('new\n');
    expect(await client.exists(runKeys('r').files('j'))).toBe(0);
    await expect(fetchResultFiles(client, 'r', 'j', dir, [{ path: 'metrics.json', bytes: 5, sha256: sha256('other\n') }])).rejects.toThrow(
      `job j: result file 'metrics.json' is missing from Redis key gbp:run:r:files:j; nothing was written to ${dir}`,
    );
  });

  it('accepts a held file (job.log, merged into the run\'s own) an earlier submitter already placed, the hash gone', async () => {
    const dir = join(root, 'job-held');
    mkdirSync(dir, { recursive: true });
    // The run's job.log holds the submitter's lines and the worker's: it can never match the worker's sha256.
    writeFileSync(join(dir, 'job.log'), 'submitter lines\n--- worker ---\nworker lines\n');
    writeFileSync(join(dir, 'metrics.json'), 'kept\n');
    const result = await fetchResultFiles(
      client,
      'r',
      'held',
      dir,
      [
        { path: 'job.log', bytes: 13, sha256: sha256('worker lines\n') },
        { path: 'metrics.json', bytes: 5, sha256: sha256('kept\n') },
      ],
      (path) => path === 'job.log',
    );
    expect(result).toEqual({ written: [join(dir, 'metrics.json')], held: new Map() });
  });
});

