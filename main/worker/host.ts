/**
 * The main process's side of the ceremony worker: one long-lived child process, jobs sent to it by id,
 * progress relayed, cancel by message (the job stops at its next step boundary) or, if it does not answer,
 * by ending the process (a new one is started for the next job).
 */
import { CeremonyError } from '../../ceremony/errors.js';
import type { ErrorCode } from '../../ceremony/errors.js';
import type { FromWorker, JobName, JobSpecs, ToWorker } from './protocol.js';

/** What both Electron's UtilityProcess and a wrapped child_process offer. */
export interface WorkerChannel {
  postMessage(message: ToWorker): void;
  onMessage(listener: (message: FromWorker) => void): void;
  onExit(listener: (code: number | null) => void): void;
  kill(): void;
}
export type SpawnWorker = () => WorkerChannel;

export interface JobProgress {
  step: string;
  label: string;
  done: number;
  total: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(e: unknown): void;
  onProgress(p: JobProgress): void;
}

export class CeremonyWorker {
  private channel: WorkerChannel | undefined;
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;

  constructor(private readonly spawn: SpawnWorker) {}

  /** Ids look like `job-N`: the renderer gets them in progress events and may send them back to cancel. */
  run<J extends JobName>(job: J, params: JobSpecs[J]['params'], onProgress: (p: JobProgress) => void = () => {}): { id: string; result: Promise<JobSpecs[J]['result']> } {
    const id = `job-${this.nextId++}`;
    const result = new Promise<JobSpecs[J]['result']>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
    });
    try {
      this.ensure().postMessage({ type: 'run', id, job, params });
    } catch (e) {
      // The worker died before or while taking the job (e.g. it failed to load): say so plainly.
      this.pending.get(id)?.reject(new CeremonyError('INTERNAL', 'the ceremony worker is not running; restart the app', { cause: e }));
      this.pending.delete(id);
      this.channel = undefined;
    }
    return { id, result };
  }

  cancel(id: string): boolean {
    if (!this.pending.has(id) || !this.channel) return false;
    this.channel.postMessage({ type: 'cancel', id });
    return true;
  }

  /** End the worker (at quit, or when a cancelled job does not stop). Pending jobs fail with CANCELLED. */
  stop(): void {
    this.channel?.kill();
  }

  private ensure(): WorkerChannel {
    if (this.channel) return this.channel;
    const channel = this.spawn();
    channel.onMessage((m) => this.receive(m));
    channel.onExit(() => {
      if (this.channel === channel) this.channel = undefined;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(new CeremonyError('CANCELLED', 'the ceremony worker stopped before the work was done'));
      }
    });
    this.channel = channel;
    return channel;
  }

  private receive(m: FromWorker): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'progress') {
      p.onProgress({ step: m.step, label: m.label, done: m.done, total: m.total });
      return;
    }
    this.pending.delete(m.id);
    if (m.type === 'done') p.resolve(m.result);
    else p.reject(new CeremonyError(m.error.code as ErrorCode, m.error.message));
  }
}

/** A WorkerChannel over a child_process fork (tests, and `node` runs without Electron). */
export function channelFromChildProcess(child: {
  send(message: unknown): boolean;
  on(event: 'message', l: (m: unknown) => void): unknown;
  on(event: 'exit', l: (code: number | null) => void): unknown;
  kill(): boolean;
}): WorkerChannel {
  // Without a listener, a failed send would be an unhandled 'error' event; the exit handler reports it.
  child.on('error' as 'exit', () => {});
  return {
    postMessage: (m) => void child.send(m),
    onMessage: (l) => void child.on('message', (m) => l(m as FromWorker)),
    onExit: (l) => void child.on('exit', l),
    kill: () => void child.kill(),
  };
}
