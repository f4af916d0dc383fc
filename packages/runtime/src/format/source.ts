/**
 * Where an exported model is read from: a folder (or its model.json) on disk in Node, or a URL
 * (http(s), or relative to a browser page). Node's fs is imported only when a path is read, so a
 * browser never loads it.
 */
import { MANIFEST_FILE } from './manifest.js';

/** A folder or model.json path (Node), or a URL of either (fetch). */
export type ModelSource = string | URL;

export interface ModelFiles {
  /** The model.json's location, for messages. */
  readonly where: string;
  /** model.json's text. */
  manifestText(): Promise<string>;
  /** A file named relative to model.json (a weight shard). */
  bytes(name: string): Promise<ArrayBuffer>;
}

const isNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';
const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

function fetchFiles(manifestUrl: URL): ModelFiles {
  const get = async (url: URL): Promise<Response> => {
    let response: Response;
    try {
      response = await fetch(url);
    } catch (error) {
      throw new Error(`${url.href}: could not be fetched (${(error as Error).message})`, { cause: error });
    }
    if (!response.ok) throw new Error(`${url.href}: HTTP ${response.status} ${response.statusText}`.trim());
    return response;
  };
  return {
    where: manifestUrl.href,
    manifestText: async () => (await get(manifestUrl)).text(),
    bytes: async (name) => (await get(new URL(name, manifestUrl))).arrayBuffer(),
  };
}

async function diskFiles(path: string): Promise<ModelFiles> {
  const [{ readFile, stat }, { join, dirname, resolve }] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  const given = resolve(path);
  const info = await stat(given).catch(() => undefined);
  if (info === undefined) throw new Error(`${given}: no such file or folder (expected a folder written by gbp export --format tfjs, or its ${MANIFEST_FILE})`);
  const manifest = info.isDirectory() ? join(given, MANIFEST_FILE) : given;
  const read = async (file: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(code === 'ENOENT' ? `${file}: missing (the export is incomplete)` : `${file}: could not be read (${(error as Error).message})`, { cause: error });
    }
  };
  return {
    where: manifest,
    manifestText: async () => (await read(manifest)).toString('utf8'),
    bytes: async (name) => {
      const b = await read(join(dirname(manifest), name));
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
  };
}

/** The files of the model at `source`; a folder URL or path gets model.json appended. */
export async function openModelFiles(source: ModelSource): Promise<ModelFiles> {
  const text = source instanceof URL ? source.href : source;
  if (isNode() && text.startsWith('file:')) {
    const { fileURLToPath } = await import('node:url');
    return diskFiles(fileURLToPath(text));
  }
  if (isNode() && !HAS_SCHEME.test(text)) return diskFiles(text);
  // in a browser, a relative URL is relative to the page
  const base = (globalThis as { location?: { href: string } }).location?.href;
  const url = new URL(text, base);
  return fetchFiles(url.pathname.endsWith('.json') ? url : new URL(MANIFEST_FILE, url.href.endsWith('/') ? url : `${url.href}/`));
}
