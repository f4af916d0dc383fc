/**
 * One `gbp run` per pipeline output folder: a lock file created exclusively ('wx') holding who took
 * it. A lock whose process is dead on this host is stale and taken over. proper-lockfile would not
 * do: it cannot name the holder and judges staleness by mtime, not by the holder's pid.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FileWriteError, processExists } from '@gbp/core';
import { RunRefusedError } from './run-refused.js';

export const LOCK_FILE = '.gbp-run.lock';

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  command: string;
  /** Its running workers: a killed run's workers still write until they have checkpointed. */
  workers?: number[];
}

export interface OutputLock {
  readonly path: string;
  /** Records the running workers' pids in the lock file (throws FileWriteError when it cannot). */
  setWorkers(pids: readonly number[]): void;
  /** Removes the lock file if it is still ours; safe to call more than once. */
  release(): void;
}

export function lockOutput(dir: string, command: string): OutputLock {
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), command };
  // Retried after removing a stale lock, or when the holder released it as we looked.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createLockFile(path, me)) return ownLock(path, me);
    const holder = readHolder(path);
    if (holder === 'gone') continue;
    if (holder === 'unreadable') {
      // Maybe another gbp run is writing it this very moment: never remove a lock we cannot read.
      throw new RunRefusedError(`${dir} is locked by ${path}, which is not a gbp lock file; remove it if no gbp run is using the folder`);
    }
    if (isAlive(holder)) {
      throw new RunRefusedError(
        `${dir} is in use by ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.since}); wait for it or stop it` +
          (holder.host === me.host ? '' : `; if that process is gone, remove ${path}`),
      );
    }
    const writers = liveWorkers(holder);
    if (writers.length > 0) {
      throw new RunRefusedError(
        `${dir} is still written by the workers (pid ${writers.join(', ')}) of ${holder.command} (pid ${holder.pid}, which is gone); ` +
          'they write a checkpoint and exit; try again once they have',
      );
    }
    unlinkSync(path);
  }
  throw new RunRefusedError(`${dir}: another gbp run took the lock ${path} while this one was taking over a stale one; try again`);
}

/** false when the lock file exists; a failed write (disk full) removes the file it created. */
function createLockFile(path: string, me: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new FileWriteError(path, error);
  }
  try {
    writeSync(fd, `${JSON.stringify(me)}\n`);
  } catch (error) {
    closeSync(fd);
    unlinkSync(path);
    throw new FileWriteError(path, error);
  }
  closeSync(fd);
  return true;
}

function ownLock(path: string, me: LockHolder): OutputLock {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    const holder = readHolder(path);
    if (typeof holder === 'object' && holder.pid === me.pid) unlinkSync(path);
  };
  const setWorkers = (pids: readonly number[]) => {
    const temp = `${path}.${process.pid}.tmp`;
    try {
      writeFileSync(temp, `${JSON.stringify({ ...me, workers: [...pids] })}\n`);
      renameSync(temp, path);
    } catch (error) {
      rmSync(temp, { force: true });
      throw new FileWriteError(path, error);
    }
  };
  // process.exit (a second Ctrl-C) skips finally blocks, not 'exit' listeners.
  process.on('exit', release);
  return { path, setWorkers, release };
}

function readHolder(path: string): LockHolder | 'gone' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw new Error(`cannot read the lock file ${path}: ${(error as Error).message}`);
  }
  try {
    const holder = JSON.parse(text) as Partial<LockHolder>;
    if (typeof holder.pid === 'number' && typeof holder.host === 'string') return { since: '?', command: 'gbp run', ...holder } as LockHolder;
  } catch {
    // Falls through: not ours, or half written.
  }
  return 'unreadable';
}

/** Only a process on this host can be checked: one elsewhere counts as alive. */
function pidAlive(pid: number, host: string): boolean {
  return host !== hostname() || processExists(pid);
}

/** Its pid is alive and is still the same process: not one started after the lock was taken. */
const isAlive = (holder: LockHolder) => pidAlive(holder.pid, holder.host) && !startedAfter(holder.pid, Date.parse(holder.since));

/**
 * Linux: whether process `pid` started after `time` (ms), i.e. the pid was reused by another
 * process after the holder died. Elsewhere, or when /proc cannot tell, false (assume the holder).
 */
function startedAfter(pid: number, time: number): boolean {
  if (process.platform !== 'linux' || Number.isNaN(time)) return false;
  try {
    // Field 22 of /proc/PID/stat, after the parenthesised command name: start in ticks after boot.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    // /proc counts in USER_HZ, 100 on every Linux architecture gbp runs on. A second of slack for rounding.
    const started = (boot + ticks / 100) * 1000;
    return Number.isFinite(started) && started > time + 1000;
  } catch {
    return false;
  }
}
const liveWorkers = (holder: LockHolder) => (holder.workers ?? []).filter((pid) => pidAlive(pid, holder.host));
