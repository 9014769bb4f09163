/**
 * Writing outputs so that a failure or a kill never leaves a partial file: write a temp file beside the
 * target, fsync it, rename it over the target, fsync the directory (POSIX rename is atomic).
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync, existsSync, readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { CeremonyError } from './errors.js';

export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.partial`);
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = tempPathFor(target);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, target);
    fsyncDir(dirname(target));
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new CeremonyError('OUTPUT_FAILED', `could not write ${target}`, { cause: e });
  }
}

/** Read a small input file whole, with a size limit, as a CeremonyError on failure. */
export function readInputFile(path: string, what: string, maxBytes = 16 * 1024 * 1024): Buffer {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (e) {
    throw new CeremonyError('INPUT_UNREADABLE', `the ${what} ${path} cannot be read`, { cause: e });
  }
  if (size > maxBytes) throw new CeremonyError('INPUT_MALFORMED', `the ${what} ${path} is larger than ${maxBytes} bytes`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new CeremonyError('INPUT_UNREADABLE', `the ${what} ${path} cannot be read`, { cause: e });
  }
}

export function fileExists(path: string): boolean {
  return existsSync(path);
}
