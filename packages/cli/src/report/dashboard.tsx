/**
 * The terminal dashboard (ink). Workers run outside React; the RunStore feeds this view through
 * useSyncExternalStore. Live jobs are rows that re-render; finished jobs move into <Static> (printed
 * once, above). Views: progress bars, live logs, or both; `v` switches, `q` / Ctrl-C stops the run.
 * When the run ends, finish(outcome) renders the final state and the app exits.
 */
import { Box, render, Static, Text, useApp, useInput, useStdin } from 'ink';
import { useEffect, useState, useSyncExternalStore } from 'react';
import type { Readable, Writable } from 'node:stream';
import { FINISHED, fmt, formatDuration, type JobView } from '../run/job-view.js';
import type { RunOutcome } from '../run/run-plan.js';
import type { RunStore } from '../run/store.js';
import { statusText } from './plain.js';

export type DashboardView = 'progress' | 'logs' | 'both';
export const VIEWS: readonly DashboardView[] = ['progress', 'logs', 'both'];

export interface DashboardOptions {
  title: string;
  view: DashboardView;
  onInterrupt: () => void;
  stdout: Writable & { columns?: number; rows?: number };
  stdin: Readable;
}

export interface DashboardHandle {
  /** A message shown under the rows (e.g. a plot that failed). */
  note(message: string): void;
  /** Shows the outcome, then unmounts; resolves when the app has exited. */
  finish(outcome: RunOutcome): Promise<void>;
}

/** State owned outside React: notes and the outcome (replaced, never mutated). */
interface ExtrasState {
  readonly notes: readonly string[];
  readonly outcome?: RunOutcome;
}
class Extras {
  private state: ExtrasState = { notes: [] };
  private listeners = new Set<() => void>();
  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  snapshot = () => this.state;
  set(change: Partial<ExtrasState>) {
    this.state = { ...this.state, ...change };
    for (const l of this.listeners) l();
  }
}

export function startDashboard(store: RunStore, options: DashboardOptions): DashboardHandle {
  const extras = new Extras();
  const instance = render(<Dashboard store={store} extras={extras} options={options} />, {
    stdout: options.stdout as NodeJS.WriteStream,
    stdin: options.stdin as NodeJS.ReadStream,
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: 10,
  });
  return {
    note: (message) => extras.set({ notes: [...extras.snapshot().notes, message].slice(-5) }),
    finish: async (outcome) => {
      extras.set({ outcome });
      await instance.waitUntilExit();
    },
  };
}

const STATE_COLOR: Record<JobView['status'], string> = {
  pending: 'gray',
  running: 'cyan',
  done: 'green',
  failed: 'red',
  aborted: 'yellow',
  skipped: 'gray',
  blocked: 'red',
};
const STATE_MARK: Record<JobView['status'], string> = {
  pending: '·',
  running: '▶',
  done: '✔',
  failed: '✖',
  aborted: '■',
  skipped: '↷',
  blocked: '✖',
};

function Dashboard({ store, extras, options }: { store: RunStore; extras: Extras; options: DashboardOptions }) {
  const views = useSyncExternalStore(store.subscribe, store.snapshot);
  const { notes, outcome } = useSyncExternalStore(extras.subscribe, extras.snapshot);
  const [view, setView] = useState<DashboardView>(options.view);
  const [now, setNow] = useState(Date.now());
  const [finishedOrder, setFinishedOrder] = useState<string[]>([]);
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();

  useInput(
    (input, key) => {
      if (input === 'v') setView((v) => VIEWS[(VIEWS.indexOf(v) + 1) % VIEWS.length]!);
      if (input === 'q' || (key.ctrl && input === 'c')) options.onInterrupt();
    },
    { isActive: isRawModeSupported === true },
  );

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);

  // Finished jobs go to <Static> in the order they finished (Static only appends).
  useEffect(() => {
    const newly = views.filter((v) => FINISHED.includes(v.status) && !finishedOrder.includes(v.id)).map((v) => v.id);
    if (newly.length > 0) setFinishedOrder((order) => [...order, ...newly]);
  }, [views, finishedOrder]);

  // The run is over: one last render with the outcome, then exit.
  useEffect(() => {
    if (outcome) {
      const timer = setTimeout(() => exit(), 50);
      return () => clearTimeout(timer);
    }
    return undefined;
  }, [outcome, exit]);

  const columns = options.stdout.columns ?? 100;
  const finished = finishedOrder.map((id) => views.find((v) => v.id === id)!).filter(Boolean);
  const live = views.filter((v) => !finishedOrder.includes(v.id));
  const running = live.filter((v) => v.status === 'running');

  return (
    <>
      <Static items={finished}>{(job) => <FinishedLine key={job.id} job={job} />}</Static>
      <Box flexDirection="column">
        <Text bold>{options.title}</Text>
        <Text dimColor>
          view: {view} (v switches) · q or Ctrl-C stops (jobs checkpoint; gbp run --resume continues)
        </Text>
        {view !== 'logs' && live.length > 0 && (
          <Box flexDirection="column" marginTop={1}>
            <HeaderRow />
            {live.map((job) => (
              <JobRow key={job.id} job={job} now={now} columns={columns} />
            ))}
          </Box>
        )}
        {view !== 'progress' && (
          <Box flexDirection="column" marginTop={1}>
            {(running.length > 0 ? running : live).map((job) => (
              <LogPane key={job.id} job={job} lines={view === 'both' ? 3 : Math.max(3, Math.floor(((options.stdout.rows ?? 30) - 8) / Math.max(1, running.length)) - 1)} />
            ))}
          </Box>
        )}
        {notes.map((n, i) => (
          <Text key={i} color="yellow">
            {n}
          </Text>
        ))}
        <Footer views={views} now={now} outcome={outcome} />
      </Box>
    </>
  );
}

const COLS = { id: 26, bar: 22, num: 8 } as const;
const cell = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width));

function HeaderRow() {
  return (
    <Text dimColor>
      {cell('job', COLS.id)} {cell('method', 10)} {cell('task', 5)} {cell('size', 5)} {cell('progress', COLS.bar)} {cell('epoch', 7)} {cell('step', 11)} {cell('loss', COLS.num)} {cell('metric', 14)} {cell('sparsity', COLS.num)} {cell('ETA', 8)} state
    </Text>
  );
}

function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

function JobRow({ job, now, columns }: { job: JobView; now: number; columns: number }) {
  const fraction = job.totalSteps > 0 ? job.step / job.totalSteps : 0;
  // The ETA counts down between progress events.
  const eta = job.etaSeconds !== undefined && job.updatedAt !== undefined ? job.etaSeconds - (now - job.updatedAt) / 1000 : undefined;
  const barWidth = columns >= 130 ? COLS.bar - 2 : 10;
  return (
    <Text>
      {cell(job.id, COLS.id)} {cell(job.method, 10)} {cell(job.task, 5)} {cell(job.size, 5)}{' '}
      <Text color={STATE_COLOR[job.status]}>{bar(fraction, barWidth)}</Text>
      {' '.repeat(COLS.bar - barWidth - 1)}
      {`${String(Math.round(fraction * 100)).padStart(3)}%`} {cell(job.searching ? 'search' : `${job.epoch}/${job.epochs}`, 7)} {cell(`${job.step}/${job.totalSteps}`, 11)} {cell(fmt(job.loss), COLS.num)}{' '}
      {cell(job.metric ? `${job.metric.name.slice(0, 4)} ${fmt(job.metric.value, 3)}` : '-', 14)} {cell(fmt(job.sparsity, 3), COLS.num)} {cell(job.status === 'running' ? formatDuration(eta) : '', 8)}{' '}
      <Text color={STATE_COLOR[job.status]}>
        {STATE_MARK[job.status]} {job.status}
      </Text>
      {job.worker ? ` @${job.worker}` : ''}
    </Text>
  );
}

function LogPane({ job, lines }: { job: JobView; lines: number }) {
  return (
    <Box flexDirection="column">
      <Text bold color={STATE_COLOR[job.status]}>
        ── {job.id} ({job.status}{job.worker ? ` on ${job.worker}` : ''}) ──
      </Text>
      {job.logs.slice(-lines).map((line, i) => (
        <Text key={i} wrap="truncate-end">
          {line}
        </Text>
      ))}
    </Box>
  );
}

function FinishedLine({ job }: { job: JobView }) {
  return (
    <Text color={STATE_COLOR[job.status]}>
      {STATE_MARK[job.status]} {job.id} {statusText(job)}
    </Text>
  );
}

function Footer({ views, now, outcome }: { views: readonly JobView[]; now: number; outcome: RunOutcome | undefined }) {
  const count = (s: JobView['status']) => views.filter((v) => v.status === s).length;
  const started = views.reduce<number | undefined>((min, v) => (v.startedAt !== undefined && (min === undefined || v.startedAt < min) ? v.startedAt : min), undefined);
  const totals = (['running', 'pending', 'done', 'failed', 'aborted', 'skipped', 'blocked'] as const)
    .filter((s) => count(s) > 0 || s === 'running' || s === 'done')
    .map((s) => `${count(s)} ${s}`)
    .join(' · ');
  return (
    <Box marginTop={1} flexDirection="column">
      <Text>
        <Text bold>{views.length} jobs</Text>: {totals} · elapsed {formatDuration(started ? (now - started) / 1000 : 0)}
      </Text>
      {outcome && (
        <Text bold color={outcome.aborted ? 'yellow' : outcome.failed > 0 ? 'red' : 'green'}>
          {outcome.aborted ? 'stopped' : outcome.failed > 0 ? `finished with ${outcome.failed} failed` : 'all jobs finished'}
        </Text>
      )}
    </Box>
  );
}
