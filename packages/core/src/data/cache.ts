import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where Hub downloads and trained vocabularies are cached: GBP_CACHE_DIR, else ~/.cache/gbp. */
export function defaultCacheDir(): string {
  return process.env.GBP_CACHE_DIR || join(homedir(), '.cache', 'gbp');
}
