/**
 * A hashing thread over shared memory: the one home of "hash these bytes on another core". Two passes use it:
 * the release verifier's read of a file (hash-pass.ts), whose algorithms are split across lanes that hash
 * the same ring of buffers, and the payload signing pass (payload/draft.ts), whose input and output hashes
 * each run on a lane over the very stage buffers that are written. A lane is told which region of its
 * SharedArrayBuffer to hash; the region must not change until the lane says it is done with it (the
 * promise `update` returns). Replies come back in the order the requests were sent.
 */
import { Worker } from 'node:worker_threads';
import { CeremonyError } from './errors.js';

/** Digests of data ‖ trailer (OpenPGP signatures, RFC 4880 §5.2.4), from a copy of the running state. */
export interface TrailerRequest {
  algorithm: string;
  trailer: Uint8Array;
}

export interface LaneDigests {
  /** One per algorithm of the lane. */
  digests: Record<string, Buffer>;
  /** In the order of the trailers asked for. */
  trailed: Buffer[];
}

// Plain CommonJS as source text: an `eval` worker needs no file beside the compiled code, so the same module
// works from dist/ and from the TypeScript sources under vitest. The pool and the algorithms come in the
// first message, not in workerData, so that a thread can be started before either is known.
const LANE_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
let view;
let algorithms;
let hashes;
parentPort.on('message', (m) => {
  if (m.pool) {
    view = new Uint8Array(m.pool);
    algorithms = m.algorithms;
    hashes = algorithms.map((a) => createHash(a));
    return;
  }
  if (m.bytes) for (const h of hashes) h.update(m.bytes);
  else if (m.length !== undefined) {
    const chunk = view.subarray(m.offset, m.offset + m.length);
    for (const h of hashes) h.update(chunk);
  } else if (m.peek) return parentPort.postMessage({ digest: hashes[algorithms.indexOf(m.peek)].copy().digest() });
  else if (m.trailers) {
    const trailed = m.trailers.map((t) => hashes[algorithms.indexOf(t.algorithm)].copy().update(t.trailer).digest());
    const digests = {};
    algorithms.forEach((a, i) => { digests[a] = hashes[i].digest(); });
    return parentPort.postMessage({ digests, trailed });
  }
  parentPort.postMessage({});
});
`;

/** Threads started ahead of a pass, taken by the next HashLane.start() calls. */
const spares: Worker[] = [];

/**
 * Start `count` lanes' threads before a pass needs them. A thread's start-up costs ~0.1 s of CPU; started at
 * the beginning of a ceremony, they come up on the other core while it logs in and opens its record. An
 * unused spare does not keep the process alive.
 */
export function prestartHashLanes(count: number): void {
  while (spares.length < count) {
    const w = new Worker(LANE_SOURCE, { eval: true });
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

interface Reply {
  digest?: Uint8Array;
  digests?: Record<string, Uint8Array>;
  trailed?: Uint8Array[];
}

interface Waiting {
  resolve: (reply: Reply) => void;
  reject: (e: unknown) => void;
}

export class HashLane {
  private readonly waiting: Waiting[] = [];
  private failure: unknown;

  private constructor(
    private readonly worker: Worker,
    private readonly pool: SharedArrayBuffer,
    private readonly algorithms: readonly string[],
    /** What the lane hashes, for messages ("the input /path/update.unsigned", a file's path). */
    private readonly what: string,
  ) {
    const failAll = (e: unknown) => {
      this.failure ??= e;
      for (const w of this.waiting.splice(0)) w.reject(this.failure);
    };
    worker.on('message', (m: Reply) => this.waiting.shift()?.resolve(m));
    worker.once('error', (e) => failAll(new CeremonyError('INTERNAL', `the thread hashing ${what} failed`, { cause: e })));
    worker.once('exit', (code) => failAll(new CeremonyError('INTERNAL', `the thread hashing ${what} stopped early (exit ${code})`)));
  }

  /** A lane computing `algorithms` (Node hash names) over regions of `pool`, on a prestarted thread if there is one. */
  static start(pool: SharedArrayBuffer, algorithms: readonly string[], what: string): HashLane {
    const worker = spares.shift() ?? new Worker(LANE_SOURCE, { eval: true });
    worker.ref();
    worker.postMessage({ pool, algorithms: [...algorithms] });
    return new HashLane(worker, pool, algorithms, what);
  }

  private send(message: object): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    const reply = new Promise<Reply>((resolve, reject) => this.waiting.push({ resolve, reject }));
    reply.catch(() => {});
    this.worker.postMessage(message);
    return reply;
  }

  /** Hash `length` bytes of the pool at `offset`; settles when the lane is done with them (they may change after). */
  async update(offset: number, length: number): Promise<void> {
    if (length === 0) return;
    await this.send({ offset, length });
  }

  /** Hash `view`, which must lie inside the pool; settles when the lane is done with it. */
  async updateView(view: Uint8Array): Promise<void> {
    if (view.buffer !== this.pool) throw new CeremonyError('INTERNAL', `the thread hashing ${this.what} was given a buffer outside its pool`);
    await this.update(view.byteOffset, view.length);
  }

  /** Hash a small buffer by copy (a payload's header and manifest as they were parsed). */
  async updateCopy(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    await this.send({ bytes: Buffer.from(bytes) });
  }

  /** The digest of `algorithm` over what was hashed so far; hashing may go on after it. */
  async peek(algorithm: string): Promise<Buffer> {
    this.own(algorithm);
    const { digest } = await this.send({ peek: algorithm });
    if (!digest) throw new CeremonyError('INTERNAL', `the thread hashing ${this.what} returned no digest`);
    return Buffer.from(digest);
  }

  /** Every algorithm's digest, and those of the trailers (each of one of the lane's algorithms); the lane is done. */
  async finish(trailers: readonly TrailerRequest[] = []): Promise<LaneDigests> {
    for (const t of trailers) this.own(t.algorithm);
    const { digests, trailed } = await this.send({ trailers: trailers.map((t) => ({ algorithm: t.algorithm, trailer: Buffer.from(t.trailer) })) });
    if (!digests || !trailed || this.algorithms.some((a) => !digests[a])) throw new CeremonyError('INTERNAL', `the thread hashing ${this.what} returned no digest`);
    return { digests: Object.fromEntries(Object.entries(digests).map(([a, d]) => [a, Buffer.from(d)])), trailed: trailed.map((d) => Buffer.from(d)) };
  }

  /** Finish `algorithm` alone (a lane of one algorithm). */
  async digest(algorithm: string): Promise<Buffer> {
    this.own(algorithm);
    return (await this.finish()).digests[algorithm]!;
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private own(algorithm: string): void {
    if (!this.algorithms.includes(algorithm)) throw new CeremonyError('INTERNAL', `the thread hashing ${this.what} does not compute ${algorithm}`);
  }
}
