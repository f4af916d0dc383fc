/**
 * A model on the Hugging Face Hub (`org/name[@revision]`) as a local folder: the files a BERT
 * checkpoint needs, downloaded into the Hugging Face cache layout (HF_HUB_CACHE, else
 * HF_HOME/hub, else ~/.cache/huggingface/hub) so that other Hugging Face tools share them.
 * Honours HF_ENDPOINT, HF_TOKEN and offline mode (HF_HUB_OFFLINE or `offline`).
 *
 * The Hub's protocol (revision to commit, file list, file metadata, the download itself, xet
 * included) is @huggingface/hub's; the cache writes are hub-cache.ts's.
 */
import { downloadFile, HubApiError, modelInfo, pathsInfo } from '@huggingface/hub';
import { ModelLoadError } from './load-error.js';
import { AbortError, throwIfAborted } from '../abort.js';
import { hubEndpoint, hubOfflineFromEnv } from '../data/hub.js';
import {
  cachedCommit,
  hasBlob,
  hasCachedFile,
  hubCacheDir,
  isCommitHash,
  linkSnapshotFile,
  repoCacheDir,
  snapshotDir,
  storeBlob,
  writeRef,
  BlobCheckError,
  type BlobInfo,
} from './hub-cache.js';

export interface HubModelOptions {
  /** The hub cache folder; default from HF_HUB_CACHE / HF_HOME as huggingface_hub resolves it. */
  cacheDir?: string;
  /** Never touch the network: the revision must already be in the cache. Default: HF_HUB_OFFLINE. */
  offline?: boolean;
  /** Default HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Default HF_TOKEN. Never logged or written anywhere. */
  token?: string;
  log?: (message: string) => void;
  signal?: AbortSignal;
}

/** A Hub reference split into its id and revision (default 'main'). */
export interface HubRef {
  id: string;
  revision: string;
}

/** `org/name@revision` (or `name`) as a HubRef; undefined when `ref` cannot be a Hub id. */
export function parseHubRef(ref: string): HubRef | undefined {
  const match = /^([A-Za-z0-9][\w.-]*(?:\/[A-Za-z0-9][\w.-]*)?)(?:@([\w./-]+))?$/.exec(ref);
  // `..` would lead out of the cache folder (refs/<revision> is a path there).
  if (!match || match[1]!.includes('..') || match[2]?.split('/').includes('..')) return undefined;
  return { id: match[1]!, revision: match[2] ?? 'main' };
}

/** Why a Hub model could not be had; `kind` lets a caller react (e.g. the CLI's exit code) without parsing the message. */
export type HubModelErrorKind = 'access' | 'not-found' | 'network' | 'offline' | 'unsupported' | 'hub';

/** A ModelLoadError: shown as its message, like every other reason a model cannot be loaded. */
export class HubModelError extends ModelLoadError {
  override name = 'HubModelError';
  constructor(
    readonly kind: HubModelErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The files gbp takes from a repository; the first weights file present wins, only it is downloaded. */
export const HUB_MODEL_FILES = {
  config: 'config.json',
  weights: ['model.safetensors', 'pytorch_model.bin'],
  shardIndexes: ['model.safetensors.index.json', 'pytorch_model.bin.index.json'],
  tokenizer: ['vocab.txt', 'tokenizer.json', 'tokenizer_config.json'],
} as const;

const label = (ref: HubRef) => `${ref.id}@${ref.revision}`;
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

interface Settings {
  cacheDir: string;
  repoDir: string;
  endpoint: string;
  token: string | undefined;
  offline: boolean;
  log: (message: string) => void;
  fetch: typeof fetch | undefined;
}

function settingsOf(ref: HubRef, options: HubModelOptions): Settings {
  const cacheDir = hubCacheDir(options.cacheDir);
  const { signal } = options;
  return {
    cacheDir,
    repoDir: repoCacheDir(cacheDir, ref.id),
    endpoint: (options.endpoint ?? hubEndpoint()).replace(/\/+$/, ''),
    token: options.token || process.env.HF_TOKEN || undefined,
    offline: options.offline ?? hubOfflineFromEnv(),
    log: options.log ?? (() => undefined),
    fetch: signal ? (input, init) => fetch(input, { ...init, signal }) : undefined,
  };
}

/**
 * The local snapshot folder of `ref` with config.json, the weights (model.safetensors, else
 * pytorch_model.bin) and the tokenizer files the repository has (vocab.txt, tokenizer.json,
 * tokenizer_config.json). Errors name the id, the revision and what is missing.
 */
export async function downloadHubModel(ref: HubRef, options: HubModelOptions = {}): Promise<string> {
  if (parseHubRef(`${ref.id}@${ref.revision}`) === undefined) {
    throw new HubModelError('unsupported', `${label(ref)}: not a Hugging Face Hub id and revision (expected org/name@revision, without ..)`);
  }
  const aborted = `${label(ref)}: the download was aborted`;
  throwIfAborted(options.signal, aborted);
  const settings = settingsOf(ref, options);
  if (settings.offline) {
    const cached = await cachedSnapshot(ref, settings);
    if (cached === undefined) {
      throw new HubModelError(
        'offline',
        `${label(ref)} is not in the Hugging Face cache ${settings.cacheDir} and offline mode is on (${options.offline ? 'offline' : 'HF_HUB_OFFLINE'}); run once online to download it, or give a local model folder`,
      );
    }
    settings.log(`${label(ref)}: offline, from the cache ${cached}`);
    return cached;
  }
  if (settings.token !== undefined && !settings.token.startsWith('hf_')) {
    // @huggingface/hub refuses such a token with a bare TypeError; say where it came from.
    throw new HubModelError('access', `${label(ref)}: ${options.token ? 'the token given' : 'HF_TOKEN'} is not a Hugging Face access token (those start with hf_)`);
  }
  try {
    return await download(ref, settings);
  } catch (error) {
    // However the abort surfaced (fetch's DOMException, the library's stream message), it is core's one AbortError.
    if (options.signal?.aborted) throw new AbortError(aborted);
    if (!isNetworkError(error)) throw hubFailure(ref, settings, error);
    // As huggingface_hub does: the Hub unreachable, a cached snapshot of the revision still serves.
    const cached = await cachedSnapshot(ref, settings);
    if (cached === undefined) throw hubFailure(ref, settings, error);
    settings.log(`${label(ref)}: cannot reach ${settings.endpoint} (${networkReason(error)}); using the cached snapshot ${cached}`);
    return cached;
  }
}

/** The cached snapshot of `ref` when it has a config and a weights file; no network. */
async function cachedSnapshot(ref: HubRef, { repoDir }: Settings): Promise<string | undefined> {
  const commit = await cachedCommit(repoDir, ref.revision);
  if (commit === undefined) return undefined;
  const snapshot = snapshotDir(repoDir, commit);
  if (!(await hasCachedFile(snapshot, HUB_MODEL_FILES.config))) return undefined;
  for (const weights of HUB_MODEL_FILES.weights) if (await hasCachedFile(snapshot, weights)) return snapshot;
  return undefined;
}

async function download(ref: HubRef, settings: Settings): Promise<string> {
  const { endpoint, token, log, repoDir } = settings;
  const credentials = { hubUrl: endpoint, ...(token ? { accessToken: token } : {}), ...(settings.fetch ? { fetch: settings.fetch } : {}) };
  // The one request every call makes: which commit the revision is now, and the repository's files.
  const info = await modelInfo({ name: ref.id, revision: ref.revision, additionalFields: ['sha', 'filePaths'], ...credentials });
  const commit = info.sha;
  if (typeof commit !== 'string' || !isCommitHash(commit)) {
    throw new HubModelError('hub', `${label(ref)}: ${endpoint} did not say which commit the revision is (sha ${JSON.stringify(commit)}); is HF_ENDPOINT a Hugging Face Hub?`);
  }
  const files = filesToFetch(ref, info.filePaths);
  const snapshot = snapshotDir(repoDir, commit);
  const missing: string[] = [];
  for (const file of files) if (!(await hasCachedFile(snapshot, file))) missing.push(file);
  if (missing.length === 0) {
    log(`${label(ref)}: commit ${commit.slice(0, 10)}, from the cache ${snapshot}`);
  } else {
    const repo = { type: 'model' as const, name: ref.id };
    const metadata = await pathsInfo({ repo, paths: missing, revision: commit, ...credentials });
    for (const file of missing) {
      const entry = metadata.find((m) => m.path === file);
      const blob = entry && blobInfo(entry);
      if (!blob) throw new HubModelError('hub', `${label(ref)}: the Hub lists ${file} in commit ${commit} but gives no metadata for it (${endpoint})`);
      if (!(await hasBlob(repoDir, blob.etag))) {
        const started = performance.now();
        log(`${label(ref)}: downloading ${file} (${megabytes(blob.size)}) from ${endpoint}`);
        const body = await downloadFile({ repo, path: file, revision: commit, ...credentials });
        if (!body) throw new HubModelError('not-found', `${label(ref)}: ${file} is listed in commit ${commit} but ${endpoint} has no such file`);
        await storeBlob(repoDir, blob, body.stream(), `${label(ref)}: ${file}`, quarterProgress(blob.size, (done) => log(`${label(ref)}: ${file} ${done}`)));
        log(`${label(ref)}: ${file} ${megabytes(blob.size)} in ${seconds(started)}`);
      }
      await linkSnapshotFile(repoDir, commit, file, blob.etag);
    }
    log(`${label(ref)}: commit ${commit.slice(0, 10)} in the cache ${snapshot}`);
  }
  // Last, so that a ref in the cache always names a snapshot that has its files.
  await writeRef(repoDir, ref.revision, commit);
  return snapshot;
}

/** config.json, one weights file, the tokenizer files present; a clear refusal for what gbp cannot read. */
export function filesToFetch(ref: HubRef, available: readonly string[]): string[] {
  const has = new Set(available);
  const listed = () => (available.length <= 12 ? available.join(', ') : `${available.slice(0, 12).join(', ')}, ... (${available.length} files)`) || 'none';
  if (!has.has(HUB_MODEL_FILES.config)) {
    throw new HubModelError('unsupported', `${label(ref)}: the repository has no config.json, so it is not a transformers checkpoint (files: ${listed()})`);
  }
  const weights = HUB_MODEL_FILES.weights.find((name) => has.has(name));
  if (weights === undefined) {
    const index = HUB_MODEL_FILES.shardIndexes.find((name) => has.has(name));
    if (index !== undefined) {
      throw new HubModelError(
        'unsupported',
        `${label(ref)}: the weights are sharded (${index}); gbp reads one model.safetensors or pytorch_model.bin. Save the model as one file (transformers: save_pretrained(dir, max_shard_size="100GB")) and give that folder`,
      );
    }
    throw new HubModelError('unsupported', `${label(ref)}: the repository has neither model.safetensors nor pytorch_model.bin (files: ${listed()})`);
  }
  return [HUB_MODEL_FILES.config, weights, ...HUB_MODEL_FILES.tokenizer.filter((name) => has.has(name))];
}

function blobInfo(entry: { oid?: string; size: number; xetHash?: string; lfs?: { oid: string; size: number } }): BlobInfo | undefined {
  // The blob name huggingface_hub gives a file (and @huggingface/hub, in this order): the LFS sha256, else the xet hash, else the git oid.
  if (entry.lfs) return { etag: entry.lfs.oid, size: entry.lfs.size, sha256: entry.lfs.oid };
  const etag = entry.xetHash ?? entry.oid;
  return etag === undefined ? undefined : { etag, size: entry.size };
}

/** A progress callback that speaks at 25 %, 50 % and 75 % of files above 10 MB. */
export function quarterProgress(total: number, say: (done: string) => void): ((bytes: number) => void) | undefined {
  if (total < 10e6) return undefined;
  let next = 1;
  return (bytes) => {
    while (next < 4 && bytes >= (total * next) / 4) say(`${25 * next++} % of ${megabytes(total)}`);
  };
}

/** fetch's "fetch failed" (undici's one message for no HTTP answer: refused, no DNS, reset, bad port): the Hub was not reached. */
const isNetworkError = (error: unknown): boolean => error instanceof TypeError && error.message === 'fetch failed';

/** The system's reason (ECONNREFUSED, ENOTFOUND, ...); `||` because an AggregateError (every address refused) may have an empty message. */
const networkReason = (error: unknown): string => {
  const cause = (error as Error).cause as NodeJS.ErrnoException | undefined;
  return cause?.code || cause?.message || String(error);
};

/** The Hub's own words for a failed request (its JSON `error`), kept short. */
function hubMessage(error: HubApiError): string {
  const data = error.data as { error?: unknown; message?: unknown } | undefined;
  const text = typeof data?.error === 'string' ? data.error : typeof data?.message === 'string' ? data.message : '';
  return text.trim().slice(0, 200);
}

/** A failure as a HubModelError that names the model, the endpoint and what to do; never the token. */
function hubFailure(ref: HubRef, { endpoint, token }: Settings, error: unknown): Error {
  const hide = (message: string) => (token ? message.replaceAll(token, '<HF_TOKEN>') : message);
  if (error instanceof HubModelError) return error;
  if (error instanceof BlobCheckError) return new HubModelError('hub', error.message, { cause: error });
  if (error instanceof HubApiError) {
    const said = hubMessage(error);
    const http = `HTTP ${error.statusCode}${said ? `: ${said}` : ''}`;
    if (error.statusCode === 401 || error.statusCode === 403) {
      const advice = token
        ? 'the token in HF_TOKEN has no access to it: check the token (https://huggingface.co/settings/tokens) and accept the model\'s conditions on its page'
        : 'set HF_TOKEN to an access token that can read it (https://huggingface.co/settings/tokens)';
      return new HubModelError('access', hide(`${label(ref)}: ${endpoint} refused access (${http}); the model is gated or private, or does not exist: ${advice}`), { cause: error });
    }
    if (error.statusCode === 404) {
      return new HubModelError('not-found', hide(`${label(ref)}: not found on ${endpoint} (${http}): no model repository ${ref.id}, or no revision ${ref.revision} in it`), { cause: error });
    }
    return new HubModelError('hub', hide(`${label(ref)}: ${endpoint} answered ${http}`), { cause: error });
  }
  if (isNetworkError(error)) {
    return new HubModelError(
      'network',
      `${label(ref)}: cannot reach the Hugging Face Hub at ${endpoint} (${networkReason(error)}) and the revision is not in the cache; check the network or HF_ENDPOINT`,
      { cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new HubModelError('hub', hide(`${label(ref)}: ${message} (from ${endpoint})`), { cause: error });
}
