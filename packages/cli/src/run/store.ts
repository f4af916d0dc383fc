/** The live state of a run: one JobView per job, with subscribers (reporters, the dashboard). */
import type { JobView } from './job-view.js';
import { applyMessage } from './job-view.js';
import type { WorkerMessage } from './protocol.js';

export type StoreListener = (views: readonly JobView[], change: { id: string; message?: WorkerMessage }) => void;

export class RunStore {
  private views: JobView[];
  private listeners = new Set<StoreListener>();

  constructor(views: readonly JobView[]) {
    this.views = [...views];
  }

  /** A new array on every change (for React's useSyncExternalStore). */
  snapshot = (): readonly JobView[] => this.views;

  get(id: string): JobView {
    const view = this.views.find((v) => v.id === id);
    if (!view) throw new Error(`unknown job ${id}`);
    return view;
  }

  subscribe = (listener: StoreListener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Applies a worker message to its job. */
  dispatch(id: string, message: WorkerMessage): void {
    this.update(id, (view) => applyMessage(view, message), message);
  }

  update(id: string, change: (view: JobView) => JobView, message?: WorkerMessage): void {
    this.views = this.views.map((view) => (view.id === id ? change(view) : view));
    for (const listener of this.listeners) listener(this.views, { id, ...(message && { message }) });
  }
}
