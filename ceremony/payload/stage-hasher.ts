/**
 * A SHA-256 computed on a worker thread over the signing pass's own stage buffers (one
 * SharedArrayBuffer): the input's SHA-256, compared with the one the payload was verified with, is taken
 * from exactly the bytes that the main thread hashes for the signature and that are then written — not
 * from a second read of the file, which a writer could answer with other bytes (issue 12, item 1). The
 * two hashes still run on two cores, so signing costs one SHA-256 pass of wall time (bench/sign.mjs).
 */
import { Worker } from 'node:worker_threads';
import { CeremonyError } from '../errors.js';

// Plain CommonJS so the worker needs no file of its own next to the compiled code. The pool comes in
// the first message, not in workerData, so that the thread can be started before the pool exists.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
let pool;
const h = createHash('sha256');
parentPort.on('message', (m) => {
  if (m.pool) return void (pool = Buffer.from(m.pool));
  if (m.bytes) h.update(m.bytes);
  else if (m.length !== undefined) h.update(pool.subarray(m.offset, m.offset + m.length));
  else return parentPort.postMessage({ digest: h.digest() });
  parentPort.postMessage({ done: true });
});
`;

/** A thread started ahead of the pass, taken by the next StageHasher.start(). */
let spare: Worker | undefined;

/**
 * Start the hashing thread before the signing pass needs it. A thread's start-up costs ~0.1 s of CPU;
 * started with the pass, the main thread ran through the free stages and then waited for it. Started
 * at the beginning of a ceremony, it comes up on the other core while the ceremony logs in and opens
 * its record. An unused spare does not keep the process alive.
 */
export function prestartStageHasher(): void {
  if (spare) return;
  const w = new Worker(WORKER_SOURCE, { eval: true });
  w.unref();
  const drop = () => {
    if (spare === w) spare = undefined;
  };
  w.once('error', drop);
  w.once('exit', drop);
  spare = w;
}

interface Pending {
  resolve: (digest: Buffer | undefined) => void;
  reject: (e: unknown) => void;
}

export class StageHasher {
  /** Replies come back in the order the requests were sent. */
  private readonly pending: Pending[] = [];
  private failure: unknown;

  private constructor(
    private readonly worker: Worker,
    private readonly pool: SharedArrayBuffer,
  ) {
    const failAll = (e: unknown) => {
      this.failure ??= e;
      for (const p of this.pending.splice(0)) p.reject(this.failure);
    };
    worker.on('message', (m: { digest?: Uint8Array }) => this.pending.shift()?.resolve(m.digest ? Buffer.from(m.digest) : undefined));
    worker.once('error', (e) => failAll(new CeremonyError('INTERNAL', 'the input hashing thread failed', { cause: e })));
    worker.once('exit', (code) => failAll(new CeremonyError('INTERNAL', `the input hashing thread stopped early (exit ${code})`)));
  }

  /** A hasher over views into `pool` (the stage buffers), on the prestarted thread if there is one. */
  static start(pool: SharedArrayBuffer): StageHasher {
    const worker = spare ?? new Worker(WORKER_SOURCE, { eval: true });
    spare = undefined;
    worker.ref();
    worker.postMessage({ pool });
    return new StageHasher(worker, pool);
  }

  private send(message: object): Promise<Buffer | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    const reply = new Promise<Buffer | undefined>((resolve, reject) => this.pending.push({ resolve, reject }));
    reply.catch(() => {});
    this.worker.postMessage(message);
    return reply;
  }

  /**
   * Hash `view`, which must lie inside the pool; the returned promise settles when the worker is done
   * with it, and until then the caller must not refill it.
   */
  async update(view: Buffer): Promise<void> {
    if (view.length === 0) return;
    if (view.buffer !== this.pool) throw new CeremonyError('INTERNAL', 'the stage hasher was given a buffer outside its stages');
    await this.send({ offset: view.byteOffset, length: view.length });
  }

  /** Hash a small buffer by copy (the payload's header and manifest as they were read). */
  async updateCopy(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    await this.send({ bytes: Buffer.from(bytes) });
  }

  async digest(): Promise<Buffer> {
    const d = await this.send({});
    if (!d) throw new CeremonyError('INTERNAL', 'the input hashing thread returned no digest');
    return d;
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}
