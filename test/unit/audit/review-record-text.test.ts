/**
 * The sentences an auditor reads in a review (ceremony/audit/review.ts), asserted whole, and the two rules
 * behind them the whole-file mutation run (issue 16) showed unpinned: an artifact named "." or ".." is never
 * looked up in --artifacts DIR (it would name DIR or its parent), and a record folder named two seconds or
 * more before its ceremony started is flagged. A finding whose sentence lost its line number or file name
 * would send the auditor to the wrong place.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reviewRecord, REVIEW_LIMITS, type Review } from '../../../ceremony/audit/review.js';
import { makeOpenpgpSealer, type TestSealer } from '../../helpers/openpgp-sealer.js';
import { forgeLog, readLog } from '../../helpers/forged-log.js';
import { writeSampleRecord } from '../../helpers/audit-records.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

let sealer: TestSealer;
const work = tempDirs('audit-record-text-');
beforeAll(async () => {
  sealer = await makeOpenpgpSealer('Ceremony Seal');
});

const messages = (r: Review, code: string) => r.findings.filter((f) => f.code === code).map((f) => f.message);
const logOf = (dir: string) => join(dir, 'log.jsonl');

describe('the log findings, said whole', () => {
  it('an empty log, a torn last line and a line that is not JSON', async () => {
    const dir = await writeSampleRecord(work(), 'sign', undefined, { stopAfter: 2 });
    const base = readFileSync(logOf(dir));
    writeFileSync(logOf(dir), '');
    const empty = await reviewRecord(dir);
    expect(messages(empty, 'log-empty')).toEqual(['log.jsonl is empty']);
    expect(messages(empty, 'not-finished')).toEqual(['incomplete, stopped after step none (line 0)']);
    writeFileSync(logOf(dir), Buffer.concat([base, Buffer.from('{not json}\n{"torn":')]));
    const r = await reviewRecord(dir);
    expect(messages(r, 'torn-line')).toEqual(['line 5 is cut off (no newline): the writer only writes whole lines']);
    expect(messages(r, 'bad-json')).toEqual(['line 4 is not valid JSON', 'line 5 is not valid JSON']);
  });

  it('a line too long and a line that is JSON but not an event object', async () => {
    const dir = await writeSampleRecord(work(), 'sign', undefined, { stopAfter: 2 });
    const base = readFileSync(logOf(dir));
    writeFileSync(logOf(dir), Buffer.concat([base, Buffer.from(`"${'x'.repeat(REVIEW_LIMITS.lineBytes)}"\n42\n`)]));
    const r = await reviewRecord(dir);
    expect(messages(r, 'line-too-long')).toEqual([`line 4 is longer than ${REVIEW_LIMITS.lineBytes} bytes`]);
    expect(messages(r, 'bad-event')).toEqual([expect.stringMatching(/^line 5 is not a valid event \(line: .+\)$/)]);
  });

  it('a bad field deep in an event is named by its whole path (outputs.0.sha256)', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir);
    const at = lines.findIndex((l) => l.step === 'sign');
    (lines[at]!.outputs as { sha256: string }[])[0]!.sha256 = 'not hex';
    await forgeLog(dir, lines, sealer);
    const r = await reviewRecord(dir);
    expect(messages(r, 'bad-event')).toEqual([expect.stringMatching(new RegExp(`^line ${at + 1} is not a valid event \\(outputs\\.0\\.sha256: .+\\)$`))]);
  });

  it('a sealed log that does not end with ceremony-end names its last line and step', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir).slice(0, -1);
    await forgeLog(dir, lines, sealer);
    const r = await reviewRecord(dir);
    expect(messages(r, 'seal-without-end')).toEqual([`the record is sealed but its log does not end with ceremony-end (last line ${lines.length}: seal)`]);
    writeFileSync(logOf(dir), '{not json}\n');
    writeFileSync(join(dir, 'log.jsonl.asc'), await sealer.sign(readFileSync(logOf(dir))));
    const none = await reviewRecord(dir);
    expect(messages(none, 'seal-without-end')).toEqual(['the record is sealed but its log does not end with ceremony-end (last line 1)']);
  });

  it('an ended log without its seal says which line ended it', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir);
    unlinkSync(join(dir, 'log.jsonl.asc'));
    const r = await reviewRecord(dir);
    expect(messages(r, 'seal-missing')).toEqual([`incomplete: the log ends with ceremony-end (line ${lines.length}) but log.jsonl.asc is missing`]);
  });
});

describe('the manifest findings, said whole', () => {
  it('a manifest that is not one, and a manifest of another ceremony', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { ceremony: string };
    const own = manifest.ceremony;
    writeFileSync(join(dir, 'manifest.json'), '{}');
    expect(messages(await reviewRecord(dir), 'manifest-malformed')).toEqual(['manifest.json is not a valid manifest']);
    const other = 'f'.repeat(32);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, ceremony: other }));
    expect(messages(await reviewRecord(dir), 'manifest-ceremony-mismatch')).toEqual([`manifest.json belongs to ceremony ${other}, not ${own}`]);
  });
});

describe('artifact names that are not plain file names are never looked up in --artifacts DIR', () => {
  it('".", ".." and a long path are refused by name, not looked for as DIR or its parent', async () => {
    const w = work();
    const dir = await writeSampleRecord(w, 'sign', undefined, { stopAfter: 3 });
    const ceremony = readLog(dir)[0]!.ceremony as string;
    const long = `${'d/'.repeat(80)}x`;
    const artifact = (name: string) => ({ name, path: 'outside.txt', sha256: 'a'.repeat(64), size: 15, role: 'input' });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format: 'ceremony-record/1', ceremony, kind: 'sign', artifacts: ['.', '..', long].map(artifact) }));
    const artifacts = join(w, 'artifacts');
    mkdirSync(artifacts);
    const r = await reviewRecord(dir, { artifactsDir: artifacts });
    expect(r.artifacts.map((a) => [a.status, a.lookedAt])).toEqual([
      ['absent', ''],
      ['absent', ''],
      ['absent', ''],
    ]);
    expect(messages(r, 'artifact-absent')).toEqual(
      ['.', '..', long.slice(0, 100)].map((n) => `input ${n} has a name that is not a plain file name; it was not looked up in ${artifacts}`),
    );
  });
});

describe('the record folder name', () => {
  const renamed = async (edit: (name: string, start: number) => string) => {
    const w = work();
    const dir = await writeSampleRecord(w, 'sign', sealer);
    const own = dir.split('/').pop()!;
    const start = Date.parse(readLog(dir)[0]!.time as string);
    const to = join(w, 'records', edit(own, start));
    renameSync(dir, to);
    return { r: await reviewRecord(to, { trustedCertificates: [sealer.certificateArmored] }), own, to };
  };
  const stampOf = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

  it('a folder named two seconds before the ceremony started is flagged (only the one-second lag is the writer)', async () => {
    const { r, own } = await renamed((name, start) => name.replace(/^\d{8}T\d{6}Z/, stampOf(start - 2000)));
    expect(messages(r, 'folder-name-mismatch')).toEqual([expect.stringContaining(`disagrees with the record in start time: the record says ${own}`)]);
  });

  it('a folder named after the ceremony started is flagged', async () => {
    const { r } = await renamed((name, start) => name.replace(/^\d{8}T\d{6}Z/, stampOf(start + 5000)));
    expect(messages(r, 'folder-name-mismatch')).toHaveLength(1);
  });

  it('every disagreement is named, and the record\'s own name is given with the 8-character ID', async () => {
    const { r, own, to } = await renamed((name) => name.replace('-sign-', '-init-').replace(/-[0-9a-f]{8}$/, '-00000000'));
    expect(own).toMatch(/-[0-9a-f]{8}$/);
    expect(messages(r, 'folder-name-mismatch')).toEqual([`the folder name ${to.split('/').pop()!} disagrees with the record in kind, ceremony ID: the record says ${own}`]);
  });

  it('a very long folder name is cut to 120 characters in the finding', async () => {
    const long = `x${'-y'.repeat(100)}`;
    const { r, own } = await renamed(() => long);
    expect(messages(r, 'folder-name-mismatch')).toEqual([`the folder name ${long.slice(0, 120)} disagrees with the record in its form: the record says ${own}`]);
  });
});
