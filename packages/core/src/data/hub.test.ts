/** The Hub source against a loopback server that answers like huggingface.co (302 to a CDN path). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DataSpec } from '../spec.js';
import { hubCachePath } from './hub.js';
import { loadSplit } from './load.js';

const fixture = new Uint8Array(
  parquetWriteBuffer({
    columnData: [
      { name: 'sentence', data: ['a gripping film', 'dull', 'fine'], type: 'STRING' },
      { name: 'label', data: [1n, 0n, 1n], type: 'INT64' },
      { name: 'idx', data: Int32Array.from([0, 1, 2]), type: 'INT32' },
    ],
  }),
);

let server: Server;
let endpoint: string;
let root: string;
const requests: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gbp-hub-'));
  server = createServer((req, res) => {
    const url = req.url ?? '';
    requests.push(url);
    const resolve = url.match(/^\/datasets\/nyu-mll\/glue\/resolve\/main\/(\w+)\/([\w-]+\.parquet)$/);
    if (resolve) {
      res.writeHead(302, { location: `/cdn/${resolve[1]}/${resolve[2]}` }).end();
    } else if (url === '/cdn/sst2/train-00000-of-00001.parquet') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': fixture.byteLength }).end(fixture);
    } else if (url === '/cdn/cola/train-00000-of-00001.parquet') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>rate limited</html>');
    } else {
      res.writeHead(404).end('Entry not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});
beforeEach(() => {
  vi.stubEnv('HF_ENDPOINT', endpoint);
  vi.stubEnv('HF_HUB_OFFLINE', '');
  vi.stubEnv('GBP_DATA_DIR', '');
  requests.length = 0;
  return () => vi.unstubAllEnvs();
});

const hub = (cache: string, extra: Partial<DataSpec> = {}): DataSpec => ({ source: 'auto', offline: false, cache_dir: cache, ...extra });

describe('Hub download with a local cache', () => {
  it('downloads once into the cache, then reuses it', async () => {
    const cache = join(root, 'cache1');
    const progress: string[] = [];
    const first = await loadSplit('sst2', 'train', hub(cache), { onProgress: (m) => progress.push(m) });
    expect(first).toEqual([
      { texts: ['a gripping film'], label: 1, idx: 0 },
      { texts: ['dull'], label: 0, idx: 1 },
      { texts: ['fine'], label: 1, idx: 2 },
    ]);
    expect(requests).toEqual(['/datasets/nyu-mll/glue/resolve/main/sst2/train-00000-of-00001.parquet', '/cdn/sst2/train-00000-of-00001.parquet']);
    expect(progress.some((m) => m.startsWith(`downloading ${endpoint}/datasets/nyu-mll/glue/resolve/main/sst2/`))).toBe(true);

    requests.length = 0;
    expect(await loadSplit('sst2', 'train', hub(cache), { limit: 2 })).toEqual(first.slice(0, 2));
    // offline now works too: the cache is enough
    expect(await loadSplit('sst2', 'train', hub(cache, { offline: true }))).toEqual(first);
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    expect(await loadSplit('sst2', 'train', hub(cache))).toEqual(first);
    expect(requests).toEqual([]);
    expect(await readdir(join(cache, 'hub', 'nyu-mll', 'glue', 'sst2'))).toEqual(['train-00000-of-00001.parquet']);
  });

  it('goes to the Hub when data.dir lacks the split (source auto), and never with source local', async () => {
    const cache = join(root, 'cache2');
    const examples = await loadSplit('sst2', 'train', hub(cache, { dir: join(root, 'no-such-dir') }));
    expect(examples).toHaveLength(3);
    await expect(loadSplit('sst2', 'train', { dir: join(root, 'no-such-dir'), source: 'local', offline: false, cache_dir: cache })).rejects.toThrow(
      /no sst2\/train data under/,
    );
  });

  it('respects data.offline and HF_HUB_OFFLINE=1', async () => {
    const cache = join(root, 'cache3');
    await expect(loadSplit('sst2', 'train', hub(cache, { offline: true }))).rejects.toThrow(/downloads are off \(data.offline is set\)/);
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    await expect(loadSplit('sst2', 'train', hub(cache))).rejects.toThrow(/downloads are off \(HF_HUB_OFFLINE is set\)[^]*--data-dir[^]*Tried:\n {2}.*cache3/);
    expect(requests).toEqual([]);
  });

  it('reports HTTP errors and non-parquet bodies, leaving nothing in the cache', async () => {
    const cache = join(root, 'cache4');
    await expect(loadSplit('rte', 'train', hub(cache))).rejects.toThrow(
      `could not download ${endpoint}/datasets/nyu-mll/glue/resolve/main/rte/train-00000-of-00001.parquet: HTTP 404`,
    );
    await expect(loadSplit('cola', 'train', hub(cache))).rejects.toThrow(/did not return a parquet file/);
    const left = await readdir(cache, { recursive: true }).catch(() => []);
    expect(left.filter((e) => String(e).endsWith('.parquet') || String(e).endsWith('.tmp'))).toEqual([]);
    expect(hubCachePath(cache, 'cola', 'train')).toBe(join(cache, 'hub', 'nyu-mll', 'glue', 'cola', 'train-00000-of-00001.parquet'));
  });

  it('says so when the Hub is unreachable', async () => {
    vi.stubEnv('HF_ENDPOINT', 'http://127.0.0.1:1');
    await expect(loadSplit('sst2', 'train', hub(join(root, 'cache5')))).rejects.toThrow(/could not download http:\/\/127.0.0.1:1\/.*\n.*GBP_DATA_DIR/);
  });
});
