/** The queue protocol against real BullMQ and Redis: what the submitter and every worker rely on. */
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAME, queueJobId } from '../src/queue/protocol.js';
import { redisOptions } from '../src/queue/redis-url.js';
import { redisMissing, startRedis, type TestRedis } from './fixtures/redis-server.js';

const skip = redisMissing();
if (skip) console.warn(`queue protocol tests skipped: ${skip}`);

let redis: TestRedis;
let queue: Queue;
beforeAll(async () => {
  if (skip) return;
  redis = await startRedis();
  queue = new Queue(QUEUE_NAME, { connection: redisOptions(redis.url) });
});
afterAll(async () => {
  await queue?.close();
  await redis?.stop();
});

describe.skipIf(Boolean(skip))('queueJobId', () => {
  it('is a custom job id BullMQ accepts, and finds the job again', async () => {
    const id = queueJobId('sweep-20260101_120000', 'magnitude_sst2_seed1');
    await queue.add('magnitude_sst2_seed1', { run: 1 }, { jobId: id });
    expect((await queue.getJob(id))?.data).toEqual({ run: 1 });
  });
});
