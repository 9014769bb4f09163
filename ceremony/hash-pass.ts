/**
 * One read of a file, every hash it needs: the one home of "read a file once and compute its digests" in the core.
 * The release verifier asks the most of it (issue 3 "One pass"): the DIGESTS algorithms (MD5, SHA-1, SHA-512,
 * BLAKE2b), the SHA-256/SHA-512 read aloud, and the signature's hash, which is the data hash continued with the
 * signature's trailer (RFC 4880 §5.2.4) — taken from a copy of the running state, so one data hash serves both.
 * The ceremony record asks the least: the SHA-256 and size of an artifact (audit/record.ts, audit/review.ts).
 *
 * A single thread cannot run MD5, SHA-1, SHA-256 and SHA-512 as fast as the disk delivers, so large files are
 * read once into a ring of shared buffers and the algorithms are split across hashing threads ("lanes",
 * hash-lane.ts) that hash the same chunks in parallel. Memory is bounded by the ring (RING_SLOTS × SLOT_BYTES)
 * whatever the size. Unless lanes are asked for, one algorithm alone takes the serial pass: a lane would only
 * move its chunks to a thread.
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { CeremonyError } from './errors.js';
import { openRegularFile } from './files.js';
import { HashLane, type TrailerRequest } from './hash-lane.js';

export interface HashPassOptions<A extends string = string> {
  /**
   * What the file is, in the words of the refusals when it cannot be opened or is not a regular file
   * (files.ts openRegularFile: "the release file … is not a regular file"). 'file' when not given.
   */
  what?: string;
  /** Node hash names of the plain digests wanted. */
  algorithms: readonly A[];
  /** Digests of data ‖ trailer (OpenPGP signatures), computed from the same pass. */
  trailers?: readonly TrailerRequest[];
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /** 'auto' (default): worker lanes for files of PARALLEL_MIN_BYTES or more when the machine has two cores. */
  parallel?: boolean | 'auto';
}

export interface HashPassResult<A extends string = string> {
  size: number;
  /** Every algorithm asked for, those of the trailers included. */
  digests: Record<A, Buffer>;
  /** In the order of `trailers`. */
  trailed: Buffer[];
}

export const PARALLEL_MIN_BYTES = 32 * 1024 * 1024;
const SLOT_BYTES = 4 * 1024 * 1024;
const RING_SLOTS = 6;
const SERIAL_CHUNK = 1024 * 1024;

/**
 * Relative cost per byte of each algorithm on x86-64 with SHA-NI (measured with Node 20; BLAKE2b-512, for Flatcar
 * SDK DIGESTS, with Node 22: 2.1× SHA-256), to balance the lanes.
 */
const COST: Record<string, number> = { md5: 3, sha1: 1.2, sha256: 1, sha512: 2.5, blake2b512: 2.1 };

function unreadable(path: string, e: unknown): CeremonyError {
  return new CeremonyError('INPUT_UNREADABLE', `${path} cannot be read`, { cause: e });
}

/** The digests are of the bytes read; a file that grew or shrank meanwhile has no one content to vouch for. */
function changedSize(path: string): CeremonyError {
  return new CeremonyError('INPUT_UNREADABLE', `${path} changed size while it was being read`);
}

function finish(algorithms: readonly string[], hashes: Hash[], trailers: readonly TrailerRequest[]): { digests: Record<string, Buffer>; trailed: Buffer[] } {
  const trailed = trailers.map((t) => hashes[algorithms.indexOf(t.algorithm)]!.copy().update(t.trailer).digest());
  const digests: Record<string, Buffer> = {};
  algorithms.forEach((a, i) => (digests[a] = hashes[i]!.digest()));
  return { digests, trailed };
}

async function serialPass(fh: FileHandle, path: string, algorithms: readonly string[], trailers: readonly TrailerRequest[], total: number, onProgress?: HashPassOptions['onProgress']): Promise<HashPassResult> {
  const hashes = algorithms.map((a) => createHash(a));
  const buf = Buffer.allocUnsafe(SERIAL_CHUNK);
  let size = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      for (const h of hashes) h.update(chunk);
      size += bytesRead;
      onProgress?.(size, total);
    }
  } catch (e) {
    throw unreadable(path, e);
  }
  if (size !== total) throw changedSize(path);
  return { size, ...finish(algorithms, hashes, trailers) };
}

/** Split the algorithms into at most `lanes` groups of similar cost (greedy, most expensive first). */
export function planLanes(algorithms: readonly string[], lanes: number): string[][] {
  const groups: { algs: string[]; cost: number }[] = Array.from({ length: Math.max(1, Math.min(lanes, algorithms.length)) }, () => ({ algs: [], cost: 0 }));
  for (const a of [...algorithms].sort((x, y) => (COST[y] ?? 2) - (COST[x] ?? 2))) {
    const g = groups.reduce((min, cur) => (cur.cost < min.cost ? cur : min));
    g.algs.push(a);
    g.cost += COST[a] ?? 2;
  }
  return groups.map((g) => g.algs).filter((g) => g.length > 0);
}

async function parallelPass(fh: FileHandle, path: string, algorithms: readonly string[], trailers: readonly TrailerRequest[], total: number, lanes: number, onProgress?: HashPassOptions['onProgress']): Promise<HashPassResult> {
  const ring = new SharedArrayBuffer(RING_SLOTS * SLOT_BYTES);
  const plan = planLanes(algorithms, lanes);
  const started = plan.map((algs) => HashLane.start(ring, algs, path));
  /** Per slot: settled when every lane is done with it, so it may be read into again. */
  const busy: Promise<unknown>[] = new Array<Promise<unknown>>(RING_SLOTS).fill(Promise.resolve());
  let size = 0;
  try {
    for (let slot = 0; ; slot = (slot + 1) % RING_SLOTS) {
      await busy[slot];
      const target = new Uint8Array(ring, slot * SLOT_BYTES, SLOT_BYTES);
      const { bytesRead } = await fh.read(target, 0, SLOT_BYTES, null).catch((e: unknown) => {
        throw unreadable(path, e);
      });
      if (bytesRead === 0) break;
      const hashed = Promise.all(started.map((lane) => lane.update(slot * SLOT_BYTES, bytesRead)));
      hashed.catch(() => {}); // awaited before the slot is reused, or at the end
      busy[slot] = hashed;
      size += bytesRead;
      onProgress?.(size, total);
    }
    if (size !== total) throw changedSize(path);
    await Promise.all(busy);
    const results = await Promise.all(started.map((lane, i) => lane.finish(trailers.filter((t) => plan[i]!.includes(t.algorithm)))));
    const digests: Record<string, Buffer> = {};
    const trailed: Buffer[] = new Array<Buffer>(trailers.length);
    results.forEach((r, lane) => {
      Object.assign(digests, r.digests);
      const mine = trailers.map((t, i) => ({ t, i })).filter(({ t }) => plan[lane]!.includes(t.algorithm));
      mine.forEach(({ i }, k) => (trailed[i] = r.trailed[k]!));
    });
    return { size, digests, trailed };
  } catch (e) {
    throw e instanceof CeremonyError ? e : new CeremonyError('INTERNAL', `hashing ${path} failed`, { cause: e });
  } finally {
    await Promise.allSettled(busy);
    await Promise.all(started.map((lane) => lane.terminate()));
  }
}

/**
 * Read `path` once and compute every requested digest. It is opened once, without blocking, and its type
 * and size are taken from that descriptor (files.ts openRegularFile): a FIFO, a device or a folder — even
 * one swapped in for a regular file after an earlier check — is refused with INPUT_UNREADABLE (exit 2),
 * never waited on, and every byte hashed comes from the descriptor that was checked. `size` is the count of
 * the bytes hashed, and equals the size that descriptor had when opened: a file that grew or shrank during
 * the pass is refused (INPUT_UNREADABLE), never vouched for by the digests of whatever was read.
 */
export async function hashFileOnce<A extends string>(path: string, options: HashPassOptions<A>): Promise<HashPassResult<A>> {
  const trailers = options.trailers ?? [];
  const algorithms = [...new Set([...options.algorithms, ...trailers.map((t) => t.algorithm)])];
  const { fh, size: total } = await openRegularFile(path, options.what ?? 'file');
  try {
    const cores = availableParallelism();
    const parallel = options.parallel ?? 'auto';
    const useLanes = parallel === true || (parallel === 'auto' && cores > 1 && total >= PARALLEL_MIN_BYTES && algorithms.length > 1);
    // The passes fill a digest for each of `algorithms`, which holds every A.
    return (await (useLanes
      ? parallelPass(fh, path, algorithms, trailers, total, Math.max(2, Math.min(cores, 4)), options.onProgress)
      : serialPass(fh, path, algorithms, trailers, total, options.onProgress))) as HashPassResult<A>;
  } finally {
    await fh.close();
  }
}
