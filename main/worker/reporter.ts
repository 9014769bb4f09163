/**
 * How a job in the worker hears the core: a CeremonyReporter that relays each step as progress (so the
 * app's checklist ticks as the ceremony goes) and stops at the next step once the job is cancelled.
 */
import type { CeremonyReporter } from '../../ceremony/ceremonies/runner.js';
import type { CeremonyStep } from '../../ceremony/audit/events.js';
import { CeremonyError } from '../../ceremony/errors.js';

export interface JobContext {
  signal: AbortSignal;
  progress(step: string, label: string, done: number, total: number): void;
}

export function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new CeremonyError('CANCELLED', 'the work was cancelled; nothing was written');
}

/** What the core said at a step, kept for the job's result: a warning (e.g. a stale backup) or a check's outcome. */
export interface HeardStep {
  step: CeremonyStep;
  state: 'running' | 'done' | 'failed' | 'warning' | 'refused';
  detail: string;
}

/** The core's step reports, relayed as progress; `heard` (when given) keeps every one, in order. */
export function reporterFor(ctx: JobContext, heard?: HeardStep[]): CeremonyReporter {
  const order: string[] = [];
  return {
    step(step, state, detail) {
      heard?.push({ step, state, detail });
      if (!order.includes(step)) order.push(step);
      throwIfCancelled(ctx.signal);
      ctx.progress(step, `${step}: ${state}${detail ? ` — ${detail}` : ''}`, order.length - (state === 'running' ? 1 : 0), order.length);
    },
    warn(message) {
      ctx.progress('warning', message, 0, 0);
    },
    progress(label, done, total) {
      ctx.progress(order.at(-1) ?? 'work', label, done, total);
    },
  };
}
