/**
 * readInputFile (ceremony/files.ts), the one reader of small untrusted files (PIN files, record files,
 * certificates, DIGESTS, shares): what it returns is what it checked, from one descriptor. The seam is
 * node:fs readSync: the attacker acts at the first read, after the open and fstat — the moment a reader that
 * re-opened by path would be fooled.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const attacker: { atFirstRead?: () => void } = {};
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const readSync = ((...args: Parameters<typeof real.readSync>) => {
    const act = attacker.atFirstRead;
    attacker.atFirstRead = undefined;
    act?.();
    return real.readSync(...args);
  }) as typeof real.readSync;
  return { ...real, default: { ...real, readSync }, readSync };
});

const { readInputFile } = await import('../../../ceremony/files.js');

let dir: string;
let file: string;
const original = Buffer.from('the certificate that was checked\n'.repeat(3));
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'read-fd-'));
  file = join(dir, 'input.asc');
  writeFileSync(file, original);
});
afterEach(() => {
  attacker.atFirstRead = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('readInputFile reads the file it checked', () => {
  it('a file that grows after its size was checked is refused (INPUT_UNREADABLE), never read past it', () => {
    attacker.atFirstRead = () => appendFileSync(file, Buffer.alloc(4096, 0x41));
    expect(() => readInputFile(file, 'certificate', 1024)).toThrow(expect.objectContaining({ code: 'INPUT_UNREADABLE', message: expect.stringMatching(/changed size/) }));
  });

  it('a file that shrinks after its size was checked is refused', () => {
    attacker.atFirstRead = () => truncateSync(file, 10);
    expect(() => readInputFile(file, 'certificate', 1024)).toThrow(expect.objectContaining({ code: 'INPUT_UNREADABLE' }));
  });

  it('a larger file swapped in by name after the check is not what is read: the checked bytes are', () => {
    const big = join(dir, 'big');
    writeFileSync(big, Buffer.alloc(1 << 20, 0x42));
    attacker.atFirstRead = () => renameSync(big, file);
    expect(readInputFile(file, 'certificate', 1024)).toEqual(original);
  });

  it('a control: untouched, the file is read whole', () => {
    expect(readInputFile(file, 'certificate', 1024)).toEqual(original);
  });
});
