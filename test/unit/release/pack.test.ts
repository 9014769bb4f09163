/**
 * The renderer tarball is the same bytes whatever the build left behind in the file system (issue 14): file
 * times, creation order, permission bits from a different umask, the folder's name and place. The full
 * two-clone build comparison is scripts/check-reproducible.sh (CI); this pins down the packing itself.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { packApp } from '../../../scripts/pack.mjs';

const pack = packApp as (appDir: string, outDir: string) => string;
const work = mkdtempSync(join(tmpdir(), 'ceremony-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const FILES: [string, string][] = [
  ['index.html', '<!doctype html><script type="module" src="/assets/index-abc.js"></script>'],
  ['assets/index-abc.js', 'console.log(1)'],
  ['assets/index-def.css', 'body{margin:0}'],
];

/** A built renderer folder, its files written in `order`, with the given mtime and mode. */
function renderer(dir: string, order: number[], mtime: Date, mode: number): string {
  mkdirSync(join(dir, 'assets'), { recursive: true });
  for (const i of order) {
    const [name, text] = FILES[i]!;
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), mode);
    utimesSync(join(dir, name), mtime, mtime);
  }
  return dir;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('the renderer tarball', () => {
  it('is byte-identical from two folders that differ in name, file order, times and permission bits', () => {
    const a = pack(renderer(join(work, 'a', 'dist-app'), [0, 1, 2], new Date('2026-01-01T00:00:00Z'), 0o644), join(work, 'out-a'));
    const b = pack(renderer(join(work, 'elsewhere', 'b-built-later'), [2, 1, 0], new Date('2026-12-02T13:00:00Z'), 0o664), join(work, 'out-b'));
    expect(sha256(a)).toBe(sha256(b));
  });

  it('lists entries sorted, under dist-app/, owned by 0/0 and dated 1970-01-01, without the build folder', () => {
    const file = pack(renderer(join(work, 'c', 'whatever'), [1, 0, 2], new Date(), 0o600), join(work, 'out-c'));
    const list = spawnSync('tar', ['-tzvf', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } }).stdout.trim().split('\n');
    const names = list.map((l) => l.split(/\s+/).at(-1)!);
    expect(names).toEqual(['dist-app/', 'dist-app/assets/', 'dist-app/assets/index-abc.js', 'dist-app/assets/index-def.css', 'dist-app/index.html']);
    for (const l of list) expect(l).toMatch(/^[-d]rw.r..r.. 0\/0 .* 1970-01-01 00:00 /);
    expect(readFileSync(file).includes(Buffer.from(work))).toBe(false);
  });

  it('a changed byte in any file changes the tarball (the normalisation hides nothing)', () => {
    const base = pack(renderer(join(work, 'd'), [0, 1, 2], new Date(), 0o644), join(work, 'out-d'));
    const dir = renderer(join(work, 'e'), [0, 1, 2], new Date(), 0o644);
    writeFileSync(join(dir, 'assets/index-abc.js'), 'console.log(2)');
    expect(sha256(pack(dir, join(work, 'out-e')))).not.toBe(sha256(base));
  });
});
