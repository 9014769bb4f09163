/**
 * A SHA-256 computed on a worker thread over the signing pass's own stage buffers (one
 * SharedArrayBuffer). The pass runs two: the input's SHA-256, compared with the one the payload was
 * verified with, and the output's, whose state before the signature block is the hash that is signed.
 * Both are taken from exactly the bytes that are written — not from a second read of the file, which a
 * writer could answer with other bytes (issue 12, item 1). The two hashes run on two cores, so signing
 * costs one SHA-256 pass of wall time, and the main thread only moves stages (bench/sign.mjs): it is
 * free for the ceremony's own work while the pass runs.
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
  else if (m.peek) return parentPort.postMessage({ digest: h.copy().digest() });
  else return parentPort.postMessage({ digest: h.digest() });
  parentPort.postMessage({ done: true });
});
`;

/** How many hashing threads a signing pass takes: the input's and the output's. */
const THREADS_PER_PASS = 2;

/** Threads started ahead of the pass, taken by the next StageHasher.start() calls. */
const spares: Worker[] = [];

/**
 * Start the pass's hashing threads before it needs them. A thread's start-up costs ~0.1 s of CPU;
 * started with the pass, the main thread ran through the free stages and then waited for it. Started
 * at the beginning of a ceremony, they come up on the other core while the ceremony logs in and opens
 * its record. An unused spare does not keep the process alive.
 */
export function prestartStageHasher(): void {
  while (spares.length < THREADS_PER_PASS) {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    const drop = () => {
      const i = spares.indexOf(w);
      if (i >= 0) spares.splice(i, 1);
    };
    w.once('error', drop);
    w.once('exit', drop);
    spares.push(w);
  }
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
    /** Which hash this is, for messages. */
    private readonly what: 'input' | 'output',
  ) {
    const failAll = (e: unknown) => {
      this.failure ??= e;
      for (const p of this.pending.splice(0)) p.reject(this.failure);
    };
    worker.on('message', (m: { digest?: Uint8Array }) => this.pending.shift()?.resolve(m.digest ? Buffer.from(m.digest) : undefined));
    worker.once('error', (e) => failAll(new CeremonyError('INTERNAL', `the ${what} hashing thread failed`, { cause: e })));
    worker.once('exit', (code) => failAll(new CeremonyError('INTERNAL', `the ${what} hashing thread stopped early (exit ${code})`)));
  }

  /** A hasher over views into `pool` (the stage buffers), on the prestarted thread if there is one. */
  static start(pool: SharedArrayBuffer, what: 'input' | 'output'): StageHasher {
    const worker = spares.shift() ?? new Worker(WORKER_SOURCE, { eval: true });
    worker.ref();
    worker.postMessage({ pool });
    return new StageHasher(worker, pool, what);
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

  /** The digest of what was hashed so far; hashing may go on after it. */
  async snapshot(): Promise<Buffer> {
    const d = await this.send({ peek: true });
    if (!d) throw new CeremonyError('INTERNAL', `the ${this.what} hashing thread returned no digest`);
    return d;
  }

  async digest(): Promise<Buffer> {
    const d = await this.send({});
    if (!d) throw new CeremonyError('INTERNAL', `the ${this.what} hashing thread returned no digest`);
    return d;
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}
