/**
 * A loopback stand-in for huggingface.co, answering the requests @huggingface/hub makes to fetch a
 * model: GET /api/models/<id>/revision/<rev> (sha, siblings), POST /api/models/<id>/paths-info/<commit>
 * (oid, size, lfs), GET /<id>/resolve/<rev>/<file> (LFS files 302 to a /cdn/<id>/<sha256> path as the Hub
 * does; ranges honoured) and the Hub's errors (401 gated with X-Error-Code, 404 repo / revision / entry).
 * Every request is recorded with its Authorization header.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepo {
  id: string;
  /** Revision name (branch, tag) -> commit; a commit hash also resolves to itself. */
  refs: Record<string, string>;
  files: Record<string, Uint8Array>;
  /** Files stored through LFS (served by a 302 to /cdn/<id>/<sha256>); default: *.safetensors and *.bin. */
  lfs?: (file: string) => boolean;
  /** The repository needs `Authorization: Bearer <token>` (a gated or private model). */
  token?: string;
  /** The answer to a missing or wrong token: 401 (the Hub's for no or a bad token), or 403 (a valid token not granted access). Default 401. */
  refusal?: 401 | 403;
  /** What the CDN really sends for a file, instead of the announced content (a corrupted transfer). */
  served?: Record<string, Uint8Array>;
}

export interface FakeRequest {
  method: string;
  path: string;
  authorization: string | undefined;
}

export interface FakeHub {
  endpoint: string;
  requests: FakeRequest[];
  close(): Promise<void>;
}

export const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
/** git's blob id, what the Hub reports as a non-LFS file's oid. */
export const gitOid = (data: Uint8Array): string => createHash('sha1').update(`blob ${data.byteLength}\0`).update(data).digest('hex');

const defaultLfs = (file: string) => /\.(safetensors|bin)$/.test(file);

export async function startFakeHub(repos: FakeRepo[]): Promise<FakeHub> {
  const requests: FakeRequest[] = [];
  const byId = new Map(repos.map((r) => [r.id, r]));
  const cdn = new Map<string, Uint8Array>(); // <id>/<sha256> -> what is sent
  for (const repo of repos) for (const [file, data] of Object.entries(repo.files)) cdn.set(`${repo.id}/${sha256(data)}`, repo.served?.[file] ?? data);

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = decodeURIComponent(url.pathname);
    requests.push({ method: req.method ?? 'GET', path, authorization: req.headers.authorization });

    const cdnMatch = /^\/cdn\/(.+\/([0-9a-f]{64}))$/.exec(path);
    if (cdnMatch) return send(req, res, cdn.get(cdnMatch[1]!), { etag: `"${cdnMatch[2]!}"` }); // the CDN's own ETag, as S3's

    const api = /^\/api\/models\/(.+)\/(revision|paths-info)\/([^/]+)$/.exec(path);
    const resolve = api ? null : /^\/(.+?\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const id = api?.[1] ?? resolve?.[1];
    const repo = id === undefined ? undefined : byId.get(id);
    if (id === undefined) return json(res, 404, { error: 'Not found' });
    if (repo?.token !== undefined && req.headers.authorization !== `Bearer ${repo.token}`) {
      return json(res, repo.refusal ?? 401, { error: `Access to model ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.` }, { 'x-error-code': 'GatedRepo' });
    }
    if (!repo) return json(res, 404, { error: 'Repository not found' }, { 'x-error-code': 'RepoNotFound' });
    const revision = api?.[3] ?? resolve![2]!;
    const commit = repo.refs[revision] ?? (Object.values(repo.refs).includes(revision) ? revision : undefined);
    if (commit === undefined) return json(res, 404, { error: `Invalid rev id: ${revision}` }, { 'x-error-code': 'RevisionNotFound' });
    const isLfs = repo.lfs ?? defaultLfs;

    if (api?.[2] === 'revision') {
      return json(res, 200, {
        _id: `fake-${repo.id}`,
        id: repo.id,
        sha: commit,
        siblings: Object.keys(repo.files).map((rfilename) => ({ rfilename })),
        private: repo.token !== undefined,
        gated: false,
        downloads: 0,
        likes: 0,
        lastModified: '2026-01-01T00:00:00.000Z',
        pipeline_tag: 'text-classification',
      });
    }
    if (api?.[2] === 'paths-info') {
      if (req.method !== 'POST') return json(res, 405, { error: 'POST only' });
      const body = JSON.parse(await readBody(req)) as { paths: string[] };
      return json(
        res,
        200,
        body.paths
          .filter((p) => p in repo.files)
          .map((p) => {
            const data = repo.files[p]!;
            const lfs = isLfs(p) ? { oid: sha256(data), size: data.byteLength, pointerSize: 134 } : undefined;
            return { type: 'file', path: p, oid: gitOid(data), size: data.byteLength, ...(lfs ? { lfs } : {}) };
          }),
      );
    }
    const file = resolve![3]!;
    const data = repo.files[file];
    if (data === undefined) return json(res, 404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound' });
    const headers = { 'x-repo-commit': commit };
    if (isLfs(file)) {
      const hash = sha256(data);
      res.writeHead(302, { ...headers, location: `/cdn/${repo.id}/${hash}`, 'x-linked-etag': `"${hash}"`, 'x-linked-size': String(data.byteLength), etag: `"${gitOid(data)}"` }).end();
      return;
    }
    return send(req, res, data, { ...headers, etag: `"${gitOid(data)}"` });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/** The body, or the byte range asked for (`Range: bytes=a-b`, 206 with Content-Range). */
function send(req: IncomingMessage, res: ServerResponse, data: Uint8Array | undefined, headers: Record<string, string>): void {
  if (data === undefined) return json(res, 404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound' });
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const common = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes', ...headers };
  if (!range) {
    res.writeHead(200, { ...common, 'content-length': data.byteLength }).end(data);
    return;
  }
  const start = Number(range[1]);
  const end = Math.min(range[2] ? Number(range[2]) : data.byteLength - 1, data.byteLength - 1);
  const part = data.subarray(start, end + 1);
  res.writeHead(206, { ...common, 'content-length': part.byteLength, 'content-range': `bytes ${start}-${end}/${data.byteLength}` }).end(part);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
