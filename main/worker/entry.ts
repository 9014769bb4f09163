/**
 * The ceremony worker process. In Electron it is a utility process (process.parentPort); under plain Node
 * (tests, the e2e bridge) a child_process fork (process.send). It runs one job at a time per id, relays
 * progress, and turns every failure into `{ code, message }` — a stack never leaves the worker.
 */
import { asCeremonyError } from '../../ceremony/errors.js';
import { wipe } from '../../ceremony/crypto.js';
import { JOBS, type JobContext } from './jobs.js';
import type { FromWorker, JobName, ToWorker } from './protocol.js';

interface ParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
const send = (m: FromWorker): void => {
  if (parentPort) parentPort.postMessage(m);
  else process.send?.(m);
};
const running = new Map<string, AbortController>();

/**
 * Wipe every byte array in the params (PINs, and shares, which come as `{ source, text }` objects in a
 * list) once the job is over, whatever its outcome.
 */
function wipeSecrets(params: unknown): void {
  if (!params || typeof params !== 'object') return;
  for (const v of Object.values(params)) {
    if (v instanceof Uint8Array) wipe(v);
    else if (Array.isArray(v)) v.forEach((x) => (x instanceof Uint8Array ? wipe(x) : x && typeof x === 'object' && wipeSecrets(x)));
  }
}

async function run(id: string, job: JobName, params: unknown): Promise<void> {
  const controller = new AbortController();
  running.set(id, controller);
  const ctx: JobContext = {
    signal: controller.signal,
    progress: (step, label, done, total) => send({ type: 'progress', id, step, label, done, total }),
  };
  try {
    const impl = JOBS[job] as (p: unknown, c: JobContext) => Promise<unknown>;
    if (!impl) throw new Error(`unknown job ${String(job)}`);
    send({ type: 'done', id, result: await impl(params, ctx) });
  } catch (e) {
    const err = asCeremonyError(e);
    send({ type: 'failed', id, error: { code: err.code, message: err.message } });
  } finally {
    running.delete(id);
    wipeSecrets(params);
  }
}

function receive(m: ToWorker): void {
  if (m.type === 'run') void run(m.id, m.job, m.params);
  else if (m.type === 'cancel') running.get(m.id)?.abort();
}

if (parentPort) parentPort.on('message', (e) => receive(e.data as ToWorker));
else process.on('message', (m) => receive(m as ToWorker));
