/**
 * `ceremony audit verify` on a record whose files are not what a check of their path said (issue 12, item 6's
 * sibling in the review): the reviewer stat-ed a record file and then read it by its path again, so a FIFO
 * swapped in between blocked it for ever, and a file grown or replaced meanwhile was read unchecked. Every
 * record file and artifact is now opened once, without blocking, and checked on that descriptor
 * (ceremony/files.ts). "Swapped after its path was checked": every stat/lstat/exists of the path sees the
 * original file (test/helpers/lying-paths.mjs) while the path holds a FIFO. The compiled CLI runs in a child
 * killed after a safety timeout, so a regression fails (exit null) instead of hanging; nothing is timed.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeOpenpgpSealer, type TestSealer } from '../../helpers/openpgp-sealer.js';
import { writeSampleRecord } from '../../helpers/audit-records.js';
import { runCeremonyBounded, type BoundedRun } from '../../helpers/bounded-child.js';

let sealer: TestSealer;
const dirs: string[] = [];
beforeAll(async () => {
  sealer = await makeOpenpgpSealer('Ceremony Seal');
});
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function record(): Promise<{ work: string; dir: string }> {
  const work = mkdtempSync(join(tmpdir(), 'review-special-'));
  dirs.push(work);
  return { work, dir: await writeSampleRecord(work, 'sign', sealer) };
}

/** Put a FIFO at `path`; the original goes aside and is what every path-level check of `path` sees. */
function swapForFifo(work: string, path: string): { lyingPaths: string[]; decoy: string } {
  const decoy = join(work, 'decoy');
  renameSync(path, decoy);
  execFileSync('mkfifo', [path]);
  return { lyingPaths: [path], decoy };
}

const review = (dir: string, opts: Parameters<typeof runCeremonyBounded>[1] = {}) => runCeremonyBounded(['audit', 'verify', dir], opts);

function expectEnded(r: BoundedRun): void {
  expect(r.killed, `the review blocked and was killed\n${r.stderr}`).toBe(false);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('the record review reads what it checked, from one descriptor', () => {
  it('a control: the untouched record reviews intact', async () => {
    const { dir } = await record();
    const r = await review(dir);
    expectEnded(r);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }, 60_000);

  it('a log that is a symlink to /dev/zero is refused (RECORD_MALFORMED, exit 2), never read without end', async () => {
    const { dir } = await record();
    rmSync(join(dir, 'log.jsonl'));
    symlinkSync('/dev/zero', join(dir, 'log.jsonl'));
    const r = await review(dir);
    expectEnded(r);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^error\[RECORD_MALFORMED\]: /m);
  }, 60_000);

  it('a log swapped for a FIFO after its path was checked is refused (exit 2), not waited on', async () => {
    const { work, dir } = await record();
    const r = await review(dir, swapForFifo(work, join(dir, 'log.jsonl')));
    expectEnded(r);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^error\[RECORD_MALFORMED\]: /m);
  }, 60_000);

  it('a seal swapped for a FIFO after its path was checked: the review ends and the record does not pass', async () => {
    const { work, dir } = await record();
    const r = await review(dir, swapForFifo(work, join(dir, 'log.jsonl.asc')));
    expectEnded(r);
    expect(r.code, r.stdout + r.stderr).toBe(1);
  }, 60_000);

  it('a keys/ file swapped for a FIFO after its path was checked: the review ends with key-file-malformed', async () => {
    const { work, dir } = await record();
    const key = readdirSync(join(dir, 'keys'))[0]!;
    const r = await review(dir, swapForFifo(work, join(dir, 'keys', key)));
    expectEnded(r);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/key-file-malformed/);
  }, 60_000);

  it('an artifact swapped for a FIFO after its path was checked is refused (INPUT_UNREADABLE, exit 2), not waited on', async () => {
    const { work, dir } = await record();
    const r = await review(dir, swapForFifo(work, join(work, 'release', 'flatcar_production_image.bin.bz2')));
    expectEnded(r);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^error\[INPUT_UNREADABLE\]: .*not a regular file/m);
  }, 60_000);
});
