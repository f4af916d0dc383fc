import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fillDisk, mountTinyDisk } from './testing/tiny-disk.js';
import { FileWriteError, openAtomicFile, writeFileAtomic, writeFolderAtomic } from './fs-atomic.js';

const root = mkdtempSync(join(tmpdir(), 'gbp-atomic-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('replaces a file whole and leaves no temporary file', async () => {
    const path = join(root, 'a', 'file.txt');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, 'two');
    expect(readFileSync(path, 'utf8')).toBe('two');
    expect(readdirSync(join(root, 'a'))).toEqual(['file.txt']);
  });

  it('on failure names the file, keeps the old content and removes its temporary file', async () => {
    // A folder in the way: the temp file is written, the rename fails.
    const dir = join(root, 'blocked');
    mkdirSync(join(dir, 'target.json'), { recursive: true });
    writeFileSync(join(dir, 'target.json', 'inside'), 'keep');
    const failure = writeFileAtomic(join(dir, 'target.json'), '{}');
    await expect(failure).rejects.toThrow(FileWriteError);
    await expect(failure).rejects.toThrow(`cannot write ${join(dir, 'target.json')}: `);
    expect(readdirSync(dir)).toEqual(['target.json']);
    expect(readFileSync(join(dir, 'target.json', 'inside'), 'utf8')).toBe('keep');
  });

  const disk = mountTinyDisk(256);
  if (!disk.mounted) console.warn(`full-disk test skipped: ${disk.skip}`);
  afterAll(() => (disk.mounted ? disk.unmount() : undefined));
  it.skipIf(!disk.mounted)('on a full disk says ENOSPC with the path, keeps the old file, leaves no temp file', async () => {
    if (!disk.mounted) return;
    const path = join(disk.dir, 'metadata.json');
    await writeFileAtomic(path, 'old');
    const filler = fillDisk(disk.dir);
    const failure = writeFileAtomic(path, 'x'.repeat(64 * 1024));
    await expect(failure).rejects.toThrow(`cannot write ${path}: ENOSPC: no space left on device`);
    await expect(failure).rejects.toMatchObject({ code: 'ENOSPC', path });
    expect(readdirSync(disk.dir).sort()).toEqual(['filler', 'metadata.json']);
    expect(readFileSync(path, 'utf8')).toBe('old');
    rmSync(filler);
  });
});

describe('openAtomicFile', () => {
  it('shows nothing at the path until commit, then the pieces in order, and leaves no temporary file', async () => {
    const dir = join(root, 'stream');
    const path = join(dir, 'out.jsonl');
    const file = await openAtomicFile(path);
    await file.write('{"a":1}\n');
    await file.write('{"a":2}\n');
    expect(readdirSync(dir).includes('out.jsonl')).toBe(false);
    await file.commit();
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
    expect(readdirSync(dir)).toEqual(['out.jsonl']);
  });

  it('abort keeps the previous file and removes the temporary one', async () => {
    const dir = join(root, 'stream-abort');
    const path = join(dir, 'out.jsonl');
    await writeFileAtomic(path, 'previous\n');
    const file = await openAtomicFile(path);
    await file.write('half');
    await file.abort();
    expect(readFileSync(path, 'utf8')).toBe('previous\n');
    expect(readdirSync(dir)).toEqual(['out.jsonl']);
  });

  it('a commit that cannot rename names the file and removes the temporary one', async () => {
    const dir = join(root, 'stream-blocked');
    mkdirSync(join(dir, 'out.jsonl'), { recursive: true });
    writeFileSync(join(dir, 'out.jsonl', 'inside'), 'keep');
    const file = await openAtomicFile(join(dir, 'out.jsonl'));
    await file.write('x');
    const failure = file.commit();
    await expect(failure).rejects.toThrow(`cannot write ${join(dir, 'out.jsonl')}: `);
    expect(readdirSync(dir)).toEqual(['out.jsonl']);
  });
});

describe('writeFolderAtomic', () => {
  it('replaces a folder whole: none of the old files stay, no temporary folder is left', async () => {
    const dir = join(root, 'whole', 'out');
    await writeFolderAtomic(dir, new Map([['a.txt', 'one'], ['b.txt', 'two']]));
    await writeFolderAtomic(dir, new Map([['c.bin', Uint8Array.from([1, 2])]]));
    expect(readdirSync(dir)).toEqual(['c.bin']);
    expect(readdirSync(join(root, 'whole'))).toEqual(['out']);
  });

  it('on failure names the folder, keeps the old one as it was and leaves no temporary folder', async () => {
    const dir = join(root, 'kept', 'out');
    await writeFolderAtomic(dir, new Map([['a.txt', 'old']]));
    // A file name with a folder that does not exist: the write into the temporary folder fails.
    const failure = writeFolderAtomic(dir, new Map([['a.txt', 'new'], ['missing/b.txt', 'x']]));
    await expect(failure).rejects.toThrow(FileWriteError);
    await expect(failure).rejects.toThrow(`cannot write ${dir}: ENOENT`);
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('old');
    expect(readdirSync(join(root, 'kept'))).toEqual(['out']);
  });
});
