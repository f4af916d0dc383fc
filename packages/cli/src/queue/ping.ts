/**
 * Is the queue's Redis there, and does it take our password? Asked once before a run writes or
 * enqueues anything, with short timeouts: a wrong address is refused at once, not after the plan.
 */
import { Redis } from 'ioredis';
import { RunRefusedError } from '../run/run-refused.js';
import { QueueUrlError, redactQueueUrl, redisOptions } from './redis-url.js';

export async function pingQueue(url: string, timeoutMs = 5_000): Promise<void> {
  const where = redactQueueUrl(url);
  let options;
  try {
    options = redisOptions(url);
  } catch (error) {
    if (error instanceof QueueUrlError) throw new RunRefusedError(`gbp run: ${error.message}; nothing was written`);
    throw error;
  }
  // One try, no reconnects, no offline queue: the answer is yes or why not.
  const redis = new Redis({ ...options, lazyConnect: true, connectTimeout: timeoutMs, commandTimeout: timeoutMs, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => (lastError = error));
  try {
    await redis.connect();
    const answer = await redis.ping();
    if (answer !== 'PONG') throw new Error(`PING answered ${answer}`);
  } catch (error) {
    // The client's own error (ECONNREFUSED, WRONGPASS) says more than the rejection ('Connection is closed.').
    const reason = lastError?.message ?? (error instanceof Error ? error.message : String(error));
    throw new RunRefusedError(`gbp run: queue ${where}: cannot use Redis (${redact(reason, url)}); check the address and password (--queue, GBP_QUEUE or run.queue); nothing was written or enqueued`);
  } finally {
    redis.disconnect();
  }
}

/** An error text never carries the password, even if a client library echoed the URL. */
function redact(text: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    return text;
  }
  return password ? text.split(password).join('***') : text;
}
