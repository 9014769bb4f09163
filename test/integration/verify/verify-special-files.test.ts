/**
 * `ceremony verify` given a FIFO (issue 12, item 6, the sibling the first fix missed): the release file, its
 * .sig or its DIGESTS. open(2) on a FIFO with no writer waits for ever, so every input must be opened without
 * blocking and checked on its descriptor (ceremony/files.ts). Each case runs the compiled CLI in a child that
 * is killed after a safety timeout, so a regression fails (exit code null) instead of hanging; nothing is timed.
 * "Swapped after the check": every path-level look (stat, lstat, exists) at the FIFO sees a regular file
 * (test/helpers/lying-paths.mjs), as if the file had been replaced between that check and the open.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VECTORS } from '../../helpers/cli.js';
import { runCeremonyBounded, type BoundedRun } from '../../helpers/bounded-child.js';

const SRC = join(VECTORS, 'digests');
const KEY = join(SRC, 'throwaway-test-signing-key.pub.asc');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'verify-fifo-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The release beside its signature and DIGESTS, with `fifo` (one of those names) a FIFO instead. */
function release(fifo: string, names = ['version.txt', 'version.txt.sig', 'version.txt.DIGESTS', 'version.txt.DIGESTS.sig']): string {
  for (const n of names) {
    if (n === fifo) execFileSync('mkfifo', [join(dir, n)]);
    else copyFileSync(join(SRC, n), join(dir, n));
  }
  return join(dir, 'version.txt');
}

function expectRefused(r: BoundedRun, file: string): void {
  expect(r.killed, `the run blocked and was killed\n${r.stderr}`).toBe(false);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(new RegExp(`^error\\[INPUT_UNREADABLE\\]: .*${file.replace(/\./g, '\\.')} is not a regular file`, 'm'));
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).not.toMatch(/VERIFIED {2}/);
}

describe('ceremony verify refuses a FIFO, exit 2, and ends', () => {
  it('a control: the same files, all regular, verify', async () => {
    const r = await runCeremonyBounded(['verify', '--trusted-key', KEY, release('')]);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);

  it('a FIFO as the release file', async () => {
    expectRefused(await runCeremonyBounded(['verify', '--trusted-key', KEY, release('version.txt')]), 'version.txt');
  }, 60_000);

  it('a FIFO as the release file, swapped in after its path was checked (hash-pass opened it by path)', async () => {
    const file = release('version.txt');
    expectRefused(await runCeremonyBounded(['verify', '--trusted-key', KEY, file], { lyingPaths: [file], decoy: join(SRC, 'version.txt') }), 'version.txt');
  }, 60_000);

  it('a FIFO as the .sig beside it', async () => {
    expectRefused(await runCeremonyBounded(['verify', '--trusted-key', KEY, release('version.txt.sig')]), 'version.txt.sig');
  }, 60_000);

  it('a FIFO as the .sig given with --signature, swapped in after its path was checked', async () => {
    const file = release('version.txt.sig');
    const sig = join(dir, 'version.txt.sig');
    expectRefused(await runCeremonyBounded(['verify', '--trusted-key', KEY, '--signature', sig, file], { lyingPaths: [sig], decoy: join(SRC, 'version.txt.sig') }), 'version.txt.sig');
  }, 60_000);

  it('a FIFO as the DIGESTS beside it', async () => {
    expectRefused(await runCeremonyBounded(['verify', '--trusted-key', KEY, release('version.txt.DIGESTS')]), 'version.txt.DIGESTS');
  }, 60_000);

  it("a FIFO as the DIGESTS' own .sig", async () => {
    expectRefused(await runCeremonyBounded(['verify', '--trusted-key', KEY, release('version.txt.DIGESTS.sig')]), 'version.txt.DIGESTS.sig');
  }, 60_000);

  it('a FIFO as the clearsigned DIGESTS given with --digests, swapped in after its path was checked', async () => {
    const file = release('version.txt.DIGESTS.asc', ['version.txt', 'version.txt.sig', 'version.txt.DIGESTS.asc']);
    const digests = join(dir, 'version.txt.DIGESTS.asc');
    expectRefused(await runCeremonyBounded(['verify', '--trusted-key', KEY, '--digests', digests, file], { lyingPaths: [digests], decoy: join(SRC, 'version.txt.DIGESTS.asc') }), 'version.txt.DIGESTS.asc');
  }, 60_000);
});
