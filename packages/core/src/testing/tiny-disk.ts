/**
 * A real full disk for tests: a small tmpfs mounted on a fresh folder (Linux, root, or a container
 * that allows mount). Where mounting is not permitted, `skip` says why and tests skip with it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type TinyDisk = { mounted: true; dir: string; unmount(): void } | { mounted: false; skip: string };

export function mountTinyDisk(sizeKiB: number): TinyDisk {
  if (process.platform !== 'linux') return { mounted: false, skip: 'a tmpfs full disk needs Linux' };
  const dir = mkdtempSync(join(tmpdir(), 'gbp-tiny-disk-'));
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mount.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { mounted: false, skip: `cannot mount a tmpfs here (${(mount.stderr || mount.error?.message || `exit ${mount.status}`).trim()}); run as root to test a full disk` };
  }
  return {
    mounted: true,
    dir,
    unmount: () => {
      spawnSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the disk until a write fails; returns the filler's path (delete it to free the space). */
export function fillDisk(dir: string): string {
  const filler = join(dir, 'filler');
  spawnSync('sh', ['-c', `cat /dev/zero > '${filler}'`]);
  return filler;
}
