/**
 * SHA-256 of the input payload, computed on a worker thread while the main thread hashes and writes
 * the output: signing then costs one SHA-256 pass of wall time, not two (bench/sign.mjs). The worker
 * reads through the same open file descriptor as the copy (positional reads), so both see the same
 * file even if its path is replaced meanwhile.
 */
import { Worker } from 'node:worker_threads';
import { CeremonyError } from '../errors.js';

// Plain CommonJS so the worker needs no file of its own next to the compiled code.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { readSync } = require('node:fs');
const { fd, size } = workerData;
const h = createHash('sha256');
const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
let pos = 0;
while (pos < size) {
  const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
  if (n === 0) break;
  h.update(buf.subarray(0, n));
  pos += n;
}
parentPort.postMessage({ bytes: pos, digest: h.digest() });
`;

export interface ParallelHash {
  /** Resolves to the SHA-256 of bytes [0, size) of the file; rejects if the file is shorter. */
  readonly result: Promise<Buffer>;
  /** Stop early (on failure or cancel); the result promise then rejects. */
  cancel(): Promise<void>;
}

export function sha256OfOpenFile(fd: number, size: number, what: string): ParallelHash {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { fd, size } });
  const result = new Promise<Buffer>((resolve, reject) => {
    worker.once('message', (m: { bytes: number; digest: Uint8Array }) => {
      if (m.bytes !== size) reject(new CeremonyError('PAYLOAD_MALFORMED', `${what} changed size while it was being read`));
      else resolve(Buffer.from(m.digest));
    });
    worker.once('error', (e) => reject(new CeremonyError('INPUT_UNREADABLE', `${what} cannot be read`, { cause: e })));
    worker.once('exit', (code) => reject(new CeremonyError('INTERNAL', `the input hashing thread stopped early (exit ${code})`)));
  });
  result.catch(() => {});
  return {
    result,
    async cancel() {
      await worker.terminate();
    },
  };
}
