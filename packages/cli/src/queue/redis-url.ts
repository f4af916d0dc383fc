/**
 * A queue address, redis://[user:pass@]host:port[/db] or rediss:// (TLS), as ioredis options, and
 * as text safe to print (the password never appears in a message, a log or a results file).
 */
import type { RedisOptions } from 'ioredis';

export class QueueUrlError extends Error {
  override name = 'QueueUrlError';
}

/** The URL with its password replaced by '***' (and the user kept): for every message and log. */
export function redactQueueUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  }
}

/** ioredis options for `url`; a bad URL is a QueueUrlError naming what is expected. */
export function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueUrlError(`queue ${redactQueueUrl(url)}: not a URL (expected redis://[user:password@]host:port[/db] or rediss://...)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new QueueUrlError(`queue ${redactQueueUrl(url)}: scheme ${u.protocol} is not redis: or rediss:`);
  }
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new QueueUrlError(`queue ${redactQueueUrl(url)}: database '${db}' is not a number`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username && { username: decodeURIComponent(u.username) }),
    ...(u.password && { password: decodeURIComponent(u.password) }),
    ...(db !== '' && { db: Number(db) }),
    ...(u.protocol === 'rediss:' && { tls: {} }),
    // BullMQ's blocking connections need this; a request never waits for a reconnect forever.
    maxRetriesPerRequest: null,
  };
}
