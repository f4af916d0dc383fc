/**
 * Models from the Hugging Face Hub, against a loopback server that answers as huggingface.co does
 * (never the real network), serving ../shared/models/bert-ref-micro (skipped when absent).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AbortError } from '../abort.js';
import { initBackend } from '../backend/index.js';
import { tf } from '../tf.js';
import { startFakeHub, gitOid, sha256, type FakeHub } from './__fixtures__/fake-hub.js';
import { hubCacheDir } from './hub-cache.js';
import { downloadHubModel, filesToFetch, HubModelError, parseHubRef, quarterProgress } from './hub-model.js';
import { InferenceModel } from './inference.js';
import { loadModel } from './source.js';
import { REFERENCE_MODEL_DIR } from '../testing/reference-model.js';

const fixture = REFERENCE_MODEL_DIR;
const present = existsSync(join(fixture, 'reference.json'));
if (!present) console.warn(`[gbp] skipping the Hugging Face Hub download tests: no fixture at ${fixture} (provide ../shared/models/bert-ref-micro)`);

const commitOf = (name: string) => createHash('sha1').update(name).digest('hex');
const MAIN = commitOf('main');
const V1 = commitOf('v1');
const RIGHT_TOKEN = 'hf_rightTokenForTheGatedModel';
const WRONG_TOKEN = 'hf_wrongSecretThatMustNeverShow';

interface ReferenceCase {
  input_ids: number[][];
  token_type_ids: number[][];
  attention_mask: number[][];
  logits: number[][];
}

/** An address nothing listens on: a loopback port just released. */
async function deadEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** Byte equality without a deep compare element by element (slow on half a megabyte). */
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

/** Every file under `dir` (following no links), for checks on what was written. */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name));
}

describe.skipIf(!present)('Hugging Face Hub models (loopback Hub)', () => {
  let hub: FakeHub;
  let root: string;
  let files: Record<string, Uint8Array>;
  let reference: { cases: { single: ReferenceCase } };
  let cacheCount = 0;
  const freshCache = () => join(root, `cache${++cacheCount}`);
  const repoDir = (cache: string, id = 'org/bert-micro') => join(cache, `models--${id.replace('/', '--')}`);
  const fileRequests = () => hub.requests.filter((r) => !r.path.startsWith('/api/'));

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'gbp-hub-model-'));
    reference = JSON.parse(await readFile(join(fixture, 'reference.json'), 'utf8')) as typeof reference;
    const read = async (path: string) => new Uint8Array(await readFile(join(fixture, path)));
    files = {
      'config.json': await read('config.json'),
      'model.safetensors': await read('model.safetensors'),
      'pytorch_model.bin': await read('pretraining/pytorch_model.bin'),
      'vocab.txt': await read('vocab.txt'),
      'tokenizer_config.json': new TextEncoder().encode('{"do_lower_case": true}'),
      'README.md': new TextEncoder().encode('# bert-micro\n'),
    };
    const safetensors = files['model.safetensors']!;
    const corrupted = safetensors.slice();
    corrupted[corrupted.length - 1] = corrupted[corrupted.length - 1]! ^ 0xff;
    hub = await startFakeHub([
      { id: 'org/bert-micro', refs: { main: MAIN, v1: V1 }, files },
      { id: 'org/gated', refs: { main: MAIN }, files, token: RIGHT_TOKEN },
      { id: 'org/not-granted', refs: { main: MAIN }, files, token: RIGHT_TOKEN, refusal: 403 },
      { id: 'org/pt-only', refs: { main: MAIN }, files: { 'config.json': files['config.json']!, 'pytorch_model.bin': files['pytorch_model.bin']!, 'vocab.txt': files['vocab.txt']! } },
      {
        id: 'org/sharded',
        refs: { main: MAIN },
        files: { 'config.json': files['config.json']!, 'model.safetensors.index.json': new TextEncoder().encode('{}'), 'model-00001-of-00002.safetensors': safetensors },
      },
      { id: 'org/no-commit', refs: { main: 'main' }, files }, // a server that answers without a commit id
      { id: 'org/corrupt', refs: { main: MAIN }, files, served: { 'model.safetensors': corrupted } },
      { id: 'org/cut-off', refs: { main: MAIN }, files, served: { 'model.safetensors': safetensors.subarray(0, 1000) } },
    ]);
  });
  afterAll(async () => {
    await hub?.close();
    await rm(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    vi.stubEnv('HF_ENDPOINT', hub.endpoint);
    vi.stubEnv('HF_HUB_OFFLINE', '');
    vi.stubEnv('HF_TOKEN', '');
    vi.stubEnv('HF_HUB_CACHE', join(root, 'not-this-one'));
    hub.requests.length = 0;
    return () => vi.unstubAllEnvs();
  });

  it('downloads config, one weights file and the tokenizer files into the Hugging Face cache layout; loadModel gives the reference logits', async () => {
    vi.stubEnv('HF_ENDPOINT', 'http://127.0.0.1:1'); // options.endpoint wins over HF_ENDPOINT
    const cache = freshCache();
    const log: string[] = [];
    const loaded = await loadModel('org/bert-micro', { hub: { endpoint: hub.endpoint, cacheDir: cache, log: (m) => log.push(m) } });

    const repo = repoDir(cache);
    const snapshot = join(repo, 'snapshots', MAIN);
    expect(loaded).toMatchObject({ kind: 'hub', format: 'hf', dir: snapshot, tokenizerPath: join(snapshot, 'vocab.txt'), lowercase: true, freshClassifier: false });
    expect((await readdir(snapshot)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt']);
    // Relative links into blobs/, named as huggingface_hub names them: LFS sha256, else the git oid.
    expect(await readlink(join(snapshot, 'model.safetensors'))).toBe(join('..', '..', 'blobs', sha256(files['model.safetensors']!)));
    expect(await readlink(join(snapshot, 'config.json'))).toBe(join('..', '..', 'blobs', gitOid(files['config.json']!)));
    expect(sameBytes(await readFile(join(snapshot, 'model.safetensors')), files['model.safetensors']!)).toBe(true);
    expect(await readFile(join(repo, 'refs', 'main'), 'utf8')).toBe(MAIN);
    expect((await filesUnder(repo)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // Only one weights file, nothing the model does not need.
    expect(fileRequests().some((r) => /pytorch_model|README/.test(r.path))).toBe(false);
    expect(log.some((m) => /^org\/bert-micro@main: downloading model\.safetensors \(0\.6 MB\) from http:\/\/127\.0\.0\.1:\d+$/.test(m)), log.join('\n')).toBe(true);
    expect(log.some((m) => /^org\/bert-micro@main: model\.safetensors 0\.6 MB in \d+\.\d s$/.test(m)), log.join('\n')).toBe(true);

    await initBackend('cpu');
    const model = InferenceModel.fromWeights(loaded.config, loaded.weights);
    const c = reference.cases.single;
    const logits = model.logits({
      inputIds: Int32Array.from(c.input_ids.flat()),
      typeIds: Int32Array.from(c.token_type_ids.flat()),
      attentionMask: Float32Array.from(c.attention_mask.flat()),
      batchSize: c.input_ids.length,
      seqLen: c.input_ids[0]!.length,
    });
    const actual = logits.dataSync();
    const worst = c.logits.flat().reduce((w, expected, i) => Math.max(w, Math.abs(actual[i]! - expected)), 0);
    console.log(`[gbp] bert-ref-micro from the loopback Hub: max |logits - reference| ${worst}`);
    expect(worst).toBeLessThan(1e-4);
    tf.dispose(logits);
    model.dispose();
  });

  it("loadModel's log gets the download's progress when the hub options have no log of their own", async () => {
    const log: string[] = [];
    await loadModel('org/bert-micro@v1', { hub: { cacheDir: freshCache() }, log: (m) => log.push(m) });
    expect(log.filter((m) => m.startsWith('org/bert-micro@v1: downloading model.safetensors (0.6 MB)'))).toHaveLength(1);
  });

  it('a second call downloads nothing: one revision check, no file request', async () => {
    const cache = freshCache();
    const first = await downloadHubModel({ id: 'org/bert-micro', revision: 'main' }, { cacheDir: cache });
    hub.requests.length = 0;
    const log: string[] = [];
    expect(await downloadHubModel({ id: 'org/bert-micro', revision: 'main' }, { cacheDir: cache, log: (m) => log.push(m) })).toBe(first);
    expect(hub.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/models/org/bert-micro/revision/main']);
    expect(log).toEqual([`org/bert-micro@main: commit ${MAIN.slice(0, 10)}, from the cache ${first}`]);
  });

  it('offline (the option, or HF_HUB_OFFLINE=1) serves a cached branch through refs/ or a commit hash, with no request at all', async () => {
    const cache = freshCache();
    const v1 = await downloadHubModel({ id: 'org/bert-micro', revision: 'v1' }, { cacheDir: cache });
    expect(v1).toBe(join(repoDir(cache), 'snapshots', V1));
    hub.requests.length = 0;
    expect(await downloadHubModel({ id: 'org/bert-micro', revision: 'v1' }, { cacheDir: cache, offline: true })).toBe(v1);
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    expect(await downloadHubModel({ id: 'org/bert-micro', revision: 'v1' }, { cacheDir: cache })).toBe(v1);
    expect(await downloadHubModel({ id: 'org/bert-micro', revision: V1 }, { cacheDir: cache })).toBe(v1);
    const loaded = await loadModel(`org/bert-micro@v1`, { hub: { cacheDir: cache } });
    expect(loaded.config.num_labels).toBe(2);
    expect(hub.requests).toEqual([]);
  });

  it('offline with the revision not in the cache is refused, naming the id, the revision and the cache folder, before any request', async () => {
    const cache = freshCache();
    await downloadHubModel({ id: 'org/bert-micro', revision: 'main' }, { cacheDir: cache });
    hub.requests.length = 0;
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    const error = await downloadHubModel({ id: 'org/bert-micro', revision: 'v1' }, { cacheDir: cache }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubModelError);
    expect((error as HubModelError).kind).toBe('offline');
    expect((error as Error).message).toBe(
      `org/bert-micro@v1 is not in the Hugging Face cache ${cache} and offline mode is on (HF_HUB_OFFLINE); run once online to download it, or give a local model folder`,
    );
    await expect(loadModel('org/other@main', { hub: { cacheDir: cache, offline: true } })).rejects.toThrow(`org/other@main is not in the Hugging Face cache ${cache} and offline mode is on (offline)`);
    expect(hub.requests).toEqual([]);
  });

  it('with the Hub unreachable a cached revision still serves (and says so); an uncached one fails naming the endpoint', async () => {
    const cache = freshCache();
    const snapshot = await downloadHubModel({ id: 'org/bert-micro', revision: 'main' }, { cacheDir: cache });
    const down = await deadEndpoint();
    const log: string[] = [];
    expect(await downloadHubModel({ id: 'org/bert-micro', revision: 'main' }, { cacheDir: cache, endpoint: down, log: (m) => log.push(m) })).toBe(snapshot);
    expect(log).toEqual([`org/bert-micro@main: cannot reach ${down} (ECONNREFUSED); using the cached snapshot ${snapshot}`]);
    vi.stubEnv('HF_ENDPOINT', down);
    await expect(downloadHubModel({ id: 'org/bert-micro', revision: 'v1' }, { cacheDir: cache })).rejects.toThrow(
      `org/bert-micro@v1: cannot reach the Hugging Face Hub at ${down} (ECONNREFUSED) and the revision is not in the cache; check the network or HF_ENDPOINT`,
    );
  });

  it('a gated model: the token in HF_TOKEN reaches every request as Authorization: Bearer', async () => {
    vi.stubEnv('HF_TOKEN', RIGHT_TOKEN);
    const cache = freshCache();
    const snapshot = await downloadHubModel({ id: 'org/gated', revision: 'main' }, { cacheDir: cache });
    expect(existsSync(join(snapshot, 'model.safetensors'))).toBe(true);
    expect(fileRequests().length).toBeGreaterThan(0);
    expect(hub.requests.filter((r) => r.authorization !== `Bearer ${RIGHT_TOKEN}`)).toEqual([]);
  });

  it('a refused token (401): the error mentions HF_TOKEN and never the token, in the message, the log or the cache', async () => {
    vi.stubEnv('HF_TOKEN', WRONG_TOKEN);
    const cache = freshCache();
    const log: string[] = [];
    const error = await downloadHubModel({ id: 'org/gated', revision: 'main' }, { cacheDir: cache, log: (m) => log.push(m) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubModelError);
    const message = (error as Error).message;
    expect((error as HubModelError).kind).toBe('access');
    expect(message).toMatch(/^org\/gated@main: http:\/\/127\.0\.0\.1:\d+ refused access \(HTTP 401: Access to model org\/gated is restricted/);
    expect(message).toContain('the token in HF_TOKEN has no access to it');
    expect(hub.requests[0]!.authorization).toBe(`Bearer ${WRONG_TOKEN}`); // it was sent, so the test can fail
    const everything = [message, String((error as Error).cause), (error as Error).stack ?? '', ...log];
    for (const file of await filesUnder(cache)) everything.push(await readFile(file, 'utf8'));
    expect(everything.filter((text) => text.includes(WRONG_TOKEN))).toEqual([]);

    await expect(downloadHubModel({ id: 'org/not-granted', revision: 'main' }, { cacheDir: cache })).rejects.toThrow(/^org\/not-granted@main: .* refused access \(HTTP 403: [^]*the token in HF_TOKEN has no access to it/);
    vi.stubEnv('HF_TOKEN', '');
    await expect(downloadHubModel({ id: 'org/gated', revision: 'main' }, { cacheDir: cache })).rejects.toThrow(/refused access \(HTTP 401[^]*set HF_TOKEN to an access token that can read it/);
  });

  it('a token that is not a Hugging Face token is refused before any request, without showing it', async () => {
    vi.stubEnv('HF_TOKEN', 'not-a-token-secret');
    const error = await downloadHubModel({ id: 'org/gated', revision: 'main' }, { cacheDir: freshCache() }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('org/gated@main: HF_TOKEN is not a Hugging Face access token (those start with hf_)');
    expect(hub.requests).toEqual([]);
  });

  it('404: an unknown repository or revision is named', async () => {
    const cache = freshCache();
    const missingRepo = await downloadHubModel({ id: 'org/missing', revision: 'main' }, { cacheDir: cache }).catch((e: unknown) => e);
    expect((missingRepo as HubModelError).kind).toBe('not-found');
    expect((missingRepo as Error).message).toMatch(/^org\/missing@main: not found on http:\/\/127\.0\.0\.1:\d+ \(HTTP 404: Repository not found\): no model repository org\/missing, or no revision main in it$/);
    await expect(loadModel('org/bert-micro@v9', { hub: { cacheDir: cache } })).rejects.toThrow(/^org\/bert-micro@v9: not found on .* \(HTTP 404: Invalid rev id: v9\)/);
    expect(await filesUnder(cache)).toEqual([]);
  });

  it('sharded weights are refused by name before any download; a repository with only pytorch_model.bin gets that file', async () => {
    const cache = freshCache();
    await expect(downloadHubModel({ id: 'org/sharded', revision: 'main' }, { cacheDir: cache })).rejects.toThrow(
      'org/sharded@main: the weights are sharded (model.safetensors.index.json); gbp reads one model.safetensors or pytorch_model.bin',
    );
    expect(fileRequests()).toEqual([]);
    const snapshot = await downloadHubModel({ id: 'org/pt-only', revision: 'main' }, { cacheDir: cache });
    expect((await readdir(snapshot)).sort()).toEqual(['config.json', 'pytorch_model.bin', 'vocab.txt']);
  });

  it.each([
    ['corrupt', /org\/corrupt@main: model\.safetensors: the content's sha256 is [0-9a-f]{64}, the Hub announced [0-9a-f]{64}; nothing was kept/],
    ['cut-off', /org\/cut-off@main: model\.safetensors: received 1000 bytes, the Hub announced \d+ \(download cut off\?\); nothing was kept/],
  ])('a %s transfer is not kept: no blob, no link, no ref', async (name, expected) => {
    const cache = freshCache();
    await expect(downloadHubModel({ id: `org/${name}`, revision: 'main' }, { cacheDir: cache })).rejects.toThrow(expected);
    const repo = repoDir(cache, `org/${name}`);
    const written = await filesUnder(repo);
    expect(written.filter((f) => f.includes(sha256(files['model.safetensors']!)) || f.endsWith('.tmp') || f.endsWith('model.safetensors') || f.includes('refs'))).toEqual([]);
  });

  it('two downloads of one model into one cache at once both get the complete snapshot (per-process temporary files, atomic renames)', async () => {
    const cache = freshCache();
    const ref = { id: 'org/bert-micro', revision: 'main' };
    const [a, b] = await Promise.all([downloadHubModel(ref, { cacheDir: cache }), downloadHubModel(ref, { cacheDir: cache })]);
    expect(a).toBe(b);
    expect(sameBytes(await readFile(join(a, 'model.safetensors')), files['model.safetensors']!)).toBe(true);
    expect((await filesUnder(repoDir(cache))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('an aborted signal stops before any request; one aborted during a download keeps nothing', async () => {
    const cache = freshCache();
    const before = new AbortController();
    before.abort();
    const ref = { id: 'org/bert-micro', revision: 'main' };
    await expect(downloadHubModel(ref, { cacheDir: cache, signal: before.signal })).rejects.toThrow(new AbortError('org/bert-micro@main: the download was aborted'));
    expect(hub.requests).toEqual([]);

    const during = new AbortController();
    const log = (m: string) => {
      if (m.includes('downloading model.safetensors')) during.abort();
    };
    const error = await downloadHubModel(ref, { cacheDir: cache, signal: during.signal, log }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as Error).message).toBe('org/bert-micro@main: the download was aborted');
    const written = await filesUnder(repoDir(cache));
    expect(written.filter((f) => f.includes(sha256(files['model.safetensors']!)) || f.endsWith('.tmp') || f.endsWith('model.safetensors') || f.includes('refs'))).toEqual([]);
  });

  it('a reference that leads out of the cache is refused before any request', async () => {
    const cache = freshCache();
    await expect(downloadHubModel({ id: 'org/bert-micro', revision: '../../outside' }, { cacheDir: cache })).rejects.toThrow(
      'org/bert-micro@../../outside: not a Hugging Face Hub id and revision (expected org/name@revision, without ..)',
    );
    expect(hub.requests).toEqual([]);
    expect(await filesUnder(cache)).toEqual([]);
  });

  it('an answer without a commit id is refused before any file is fetched', async () => {
    const cache = freshCache();
    await expect(downloadHubModel({ id: 'org/no-commit', revision: 'main' }, { cacheDir: cache })).rejects.toThrow(
      /^org\/no-commit@main: http:\/\/127\.0\.0\.1:\d+ did not say which commit the revision is \(sha "main"\); is HF_ENDPOINT a Hugging Face Hub\?$/,
    );
    expect(fileRequests()).toEqual([]);
    expect(await filesUnder(cache)).toEqual([]);
  });

  it('a snapshot another tool wrote in the shared layout (links or plain files) is used as it is, offline and online', async () => {
    const cache = freshCache();
    const repo = repoDir(cache);
    const snapshot = join(repo, 'snapshots', MAIN);
    await mkdir(join(repo, 'blobs'), { recursive: true });
    await mkdir(join(repo, 'refs'), { recursive: true });
    await mkdir(snapshot, { recursive: true });
    await writeFile(join(repo, 'blobs', 'weights-blob'), files['model.safetensors']!);
    await symlink(join('..', '..', 'blobs', 'weights-blob'), join(snapshot, 'model.safetensors'));
    for (const name of ['config.json', 'vocab.txt', 'tokenizer_config.json']) await writeFile(join(snapshot, name), files[name]!);
    await writeFile(join(repo, 'refs', 'main'), MAIN);

    const offline = await loadModel('org/bert-micro', { hub: { cacheDir: cache, offline: true } });
    expect(offline).toMatchObject({ dir: snapshot, tokenizerPath: join(snapshot, 'vocab.txt') });
    expect(offline.weights.size).toBeGreaterThan(0);
    expect(hub.requests).toEqual([]);
    expect(await downloadHubModel({ id: 'org/bert-micro', revision: 'main' }, { cacheDir: cache })).toBe(snapshot);
    expect(fileRequests()).toEqual([]);
  });

  it('the cache folder is cacheDir, else HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub', async () => {
    for (const name of ['HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_HOME', 'XDG_CACHE_HOME']) vi.stubEnv(name, undefined);
    vi.stubEnv('HOME', '/home/someone');
    expect(hubCacheDir()).toBe('/home/someone/.cache/huggingface/hub');
    vi.stubEnv('HF_HOME', join(root, 'hf-home'));
    expect(hubCacheDir()).toBe(join(root, 'hf-home', 'hub'));
    const snapshot = await downloadHubModel({ id: 'org/bert-micro', revision: 'main' });
    expect(snapshot).toBe(join(root, 'hf-home', 'hub', 'models--org--bert-micro', 'snapshots', MAIN));
    vi.stubEnv('HF_HUB_CACHE', '/somewhere/hub-cache');
    expect(hubCacheDir()).toBe('/somewhere/hub-cache');
    expect(hubCacheDir('/explicit')).toBe('/explicit');
  });
});

describe('Hub references and file choice', () => {
  it('a revision that leads out of the cache folder is not a Hub id', () => {
    expect(parseHubRef('org/name@v1.0')).toEqual({ id: 'org/name', revision: 'v1.0' });
    expect(parseHubRef('org/name@refs/pr/3')).toEqual({ id: 'org/name', revision: 'refs/pr/3' });
    expect(parseHubRef('org/name@../../../etc')).toBeUndefined();
    expect(parseHubRef('org/name@refs/../../x')).toBeUndefined();
  });

  it('reports progress at 25, 50 and 75 % of files above 10 MB, once each', () => {
    const said: string[] = [];
    const onBytes = quarterProgress(40e6, (done) => said.push(done))!;
    for (const bytes of [1e6, 10e6, 10.5e6, 35e6, 40e6]) onBytes(bytes);
    expect(said).toEqual(['25 % of 40.0 MB', '50 % of 40.0 MB', '75 % of 40.0 MB']);
    expect(quarterProgress(9e6, () => undefined)).toBeUndefined();
  });

  it('takes config.json, model.safetensors over pytorch_model.bin, and the tokenizer files present; refuses a repository without them', () => {
    const ref = { id: 'org/x', revision: 'main' };
    expect(filesToFetch(ref, ['README.md', 'pytorch_model.bin', 'model.safetensors', 'config.json', 'tokenizer.json', 'tf_model.h5'])).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);
    expect(() => filesToFetch(ref, ['model.safetensors', 'README.md'])).toThrow('org/x@main: the repository has no config.json, so it is not a transformers checkpoint (files: model.safetensors, README.md)');
    expect(() => filesToFetch(ref, ['config.json', 'tf_model.h5'])).toThrow('org/x@main: the repository has neither model.safetensors nor pytorch_model.bin (files: config.json, tf_model.h5)');
    expect(() => filesToFetch(ref, ['config.json', 'pytorch_model.bin.index.json'])).toThrow('org/x@main: the weights are sharded (pytorch_model.bin.index.json)');
  });
});
