/**
 * How the ceremony reads its inputs and writes its outputs, in one place.
 *
 * Inputs are opened without ever blocking (O_NONBLOCK: open(2) on a FIFO with no writer, or on some
 * devices, would otherwise wait forever) and checked on the open descriptor (fstat), so nothing can be
 * swapped between the check and the read; anything but a regular file is refused (exit 2).
 *
 * Outputs are created, never replaced: the bytes go to a temp file beside the target, are fsynced, and
 * the temp file is then link(2)ed to the target name. link fails with EEXIST if anything is there —
 * a file or a symlink (dangling or not), planted after the early "already exists?" check — and never
 * follows it. Filesystems without hard links (FAT transfer media) get O_CREAT|O_EXCL instead, which
 * refuses the same things. `writeFileAtomic` (temp file + rename) is only for outputs the person asked
 * to replace (`--out` of an export or a report).
 */
import {
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  fstatSync,
  fsyncSync,
  linkSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { CeremonyError, isCeremonyError } from './errors.js';

export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.partial`);
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // some filesystems refuse fsync on directories; the link/rename is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeAllSync(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/** Write a temp file beside `target` (created exclusively), fsynced; returns its path. */
function writeTemp(target: string, data: string | Uint8Array, mode: number): string {
  const tmp = tempPathFor(target);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
    writeAllSync(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    return tmp;
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Replace `target` atomically (temp file + rename): only for outputs the person asked to replace. */
export function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644): void {
  let tmp: string | undefined;
  try {
    tmp = writeTemp(target, data, mode);
    renameSync(tmp, target);
    fsyncDir(dirname(target));
  } catch (e) {
    if (tmp) rmSync(tmp, { force: true });
    throw new CeremonyError('OUTPUT_FAILED', `could not write ${target}`, { cause: e });
  }
}

function outputExists(target: string, cause?: unknown): CeremonyError {
  return new CeremonyError('OUTPUT_EXISTS', `${target} appeared while the ceremony ran; nothing was replaced`, cause === undefined ? {} : { cause });
}

const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

/**
 * Give the finished temp file `tmp` the name `target` without replacing or following anything there
 * (link(2), then the temp name is removed). Without hard links the bytes are copied into a file created
 * with O_EXCL (copyfile's COPYFILE_EXCL). OUTPUT_EXISTS if `target` exists, whatever it is.
 */
export function moveIntoPlaceExclusive(tmp: string, target: string): void {
  try {
    linkSync(tmp, target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') throw outputExists(target, e);
    if (!NO_HARD_LINKS.has(code)) throw e;
    try {
      copyFileSync(tmp, target, constants.COPYFILE_EXCL);
    } catch (c) {
      if ((c as NodeJS.ErrnoException).code === 'EEXIST') throw outputExists(target, c);
      throw c;
    }
    const fd = openSync(target, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  unlinkSync(tmp);
  fsyncDir(dirname(target));
}

/**
 * Create `target` holding `data`, exclusively and completely: OUTPUT_EXISTS (exit 2) if anything is at
 * `target` when it is created, even if it appeared after an earlier check; never a partial file.
 */
export function createFileExclusive(target: string, data: string | Uint8Array, mode = 0o644): void {
  let tmp: string | undefined;
  try {
    tmp = writeTemp(target, data, mode);
    moveIntoPlaceExclusive(tmp, target);
    tmp = undefined;
  } catch (e) {
    if (tmp) rmSync(tmp, { force: true });
    if (isCeremonyError(e)) throw e;
    throw new CeremonyError('OUTPUT_FAILED', `could not write ${target}`, { cause: e });
  }
}

function notRegular(path: string, what: string): CeremonyError {
  return new CeremonyError('INPUT_UNREADABLE', `the ${what} ${path} is not a regular file (a FIFO, device, socket or folder cannot be an input)`);
}

function unreadable(path: string, what: string, cause: unknown): CeremonyError {
  return new CeremonyError('INPUT_UNREADABLE', `the ${what} ${path} cannot be read`, { cause });
}

/** O_NONBLOCK: open(2) returns at once for a FIFO without a writer; it changes nothing for a regular file. */
const READ_NONBLOCKING = constants.O_RDONLY | constants.O_NONBLOCK;

/** Open an input for reading, never blocking, and refuse anything but a regular file (INPUT_UNREADABLE, exit 2). */
export function openRegularFileSync(path: string, what: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, READ_NONBLOCKING);
  } catch (e) {
    throw unreadable(path, what, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(path, what);
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw isCeremonyError(e) ? e : unreadable(path, what, e);
  }
}

/** The same as openRegularFileSync, as a FileHandle for positional async reads (large inputs). */
export async function openRegularFile(path: string, what: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(path, READ_NONBLOCKING);
  } catch (e) {
    throw unreadable(path, what, e);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(path, what);
    return { fh, size: st.size };
  } catch (e) {
    await fh.close();
    throw isCeremonyError(e) ? e : unreadable(path, what, e);
  }
}

/** The early check, before a ceremony starts: refuse an input that is not a regular file, without opening it. */
export function assertRegularFile(path: string, what: string): void {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw unreadable(path, what, e);
  }
  if (!st.isFile()) throw notRegular(path, what);
}

/**
 * Read a small input file whole, with a size limit, as a CeremonyError on failure: opened once without
 * blocking, checked on its descriptor (regular file, size), and read from that descriptor only — never by
 * its path again, so nothing swapped in after the check (a FIFO, a link to /dev/zero, a larger file) is read.
 * Every reader of an untrusted path in ceremony/ and main/ comes through here or openRegularFile(Sync).
 */
export function readInputFile(path: string, what: string, maxBytes = 16 * 1024 * 1024): Buffer {
  const { fd, size } = openRegularFileSync(path, what);
  try {
    if (size > maxBytes) throw new CeremonyError('INPUT_MALFORMED', `the ${what} ${path} is larger than ${maxBytes} bytes`);
    return readAllLimited(fd, size, maxBytes, () => new CeremonyError('INPUT_UNREADABLE', `the ${what} ${path} changed size while it was being read`));
  } catch (e) {
    throw isCeremonyError(e) ? e : unreadable(path, what, e);
  } finally {
    closeSync(fd);
  }
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Read an open descriptor to its end, at most `maxBytes` (one byte more is asked for, to notice more).
 * `expected`: the size fstat gave; a different count (a file that grew or shrank meanwhile) is refused.
 * On refusal the bytes read are wiped (they may be a PIN).
 */
function readAllLimited(fd: number, expected: number | undefined, maxBytes: number, changed: () => CeremonyError): Buffer {
  const buf = Buffer.alloc((expected ?? maxBytes) + 1);
  let got = 0;
  while (got < buf.length) {
    let n: number;
    try {
      n = readSync(fd, buf, got, buf.length - got, expected === undefined ? null : got);
    } catch (e) {
      // A pipe on stdin that Node made non-blocking: nothing to read yet, so wait a moment (synchronously) and ask again.
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(PAUSE, 0, 0, 5);
      continue;
    }
    if (n === 0) break;
    got += n;
  }
  if (expected === undefined ? got > maxBytes : got !== expected) {
    buf.fill(0);
    throw changed();
  }
  return buf.subarray(0, got);
}

/** Read standard input (`-` for a file option) to its end, at most `maxBytes`: a stream has no size to check first. */
export function readStdinLimited(what: string, maxBytes: number): Buffer {
  try {
    return readAllLimited(0, undefined, maxBytes, () => new CeremonyError('INPUT_MALFORMED', `the ${what} on standard input is larger than ${maxBytes} bytes`));
  } catch (e) {
    throw isCeremonyError(e) ? e : unreadable('(standard input)', what, e);
  }
}

export function fileExists(path: string): boolean {
  return existsSync(path);
}
