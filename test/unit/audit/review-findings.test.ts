/**
 * One test per remaining finding of the record review (ceremony/audit/review.ts) that review.test.ts only reaches
 * together with another finding (issue 16): the line-level faults of the log (empty, torn, not JSON, unknown step,
 * sequence faults) on a re-chained and re-sealed log, the files of keys/, the manifest, the folder name, and
 * which class of finding decides the verdict. Findings are asserted by code and line, not wording.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { reviewRecord } from '../../../ceremony/audit/review.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { makeOpenpgpSealer, type TestSealer } from '../../helpers/openpgp-sealer.js';
import { forgeLog, readLog, type LogLine } from '../../helpers/forged-log.js';
import { sampleEvents, writeSampleRecord } from '../../helpers/audit-records.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

let sealer: TestSealer;
const work = tempDirs('audit-findings-');
beforeAll(async () => {
  sealer = await makeOpenpgpSealer('Ceremony Seal');
});

type Line = LogLine;
const codes = (r: { findings: { code: string }[] }) => r.findings.map((f) => f.code);
const at = (r: { findings: { code: string; line?: number }[] }, code: string) => r.findings.filter((f) => f.code === code).map((f) => f.line);

/** A forger who knows the format: the edited log re-chained and re-sealed with the record's own key. */
const forge = (dir: string, lines: (Line | string)[]) => forgeLog(dir, lines, sealer);

describe('line-level faults of the log', () => {
  it('an emptied log is tampered (log-empty), not an unfinished ceremony', async () => {
    const dir = await writeSampleRecord(work(), 'sign', undefined, { stopAfter: 2 });
    writeFileSync(join(dir, 'log.jsonl'), '');
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('tampered');
    expect(codes(r)).toContain('log-empty');
    expect(r.lineCount).toBe(0);
  });

  it('a last line without its newline is torn, named at its line', async () => {
    const dir = await writeSampleRecord(work(), 'sign', undefined, { stopAfter: 2 });
    const log = readFileSync(join(dir, 'log.jsonl'));
    writeFileSync(join(dir, 'log.jsonl'), log.subarray(0, log.length - 1));
    const r = await reviewRecord(dir);
    expect(at(r, 'torn-line')).toEqual([3]);
    expect(r.lineCount).toBe(3);
    expect(r.events).toHaveLength(3);
  });

  it('a line that is not JSON is named bad-json at its line, and the lines around it still parse', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines: (Line | string)[] = readLog(dir);
    lines.splice(2, 0, '{not json');
    await forge(dir, lines);
    const r = await reviewRecord(dir);
    expect(at(r, 'bad-json')).toEqual([3]);
    expect(r.events.map((e) => e.line)).not.toContain(3);
    expect(r.events.length).toBe(lines.length - 1);
  });

  it('a step the format does not know is named unknown-step at its line', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir);
    lines[2]!.step = 'wipe-disk';
    await forge(dir, lines);
    const r = await reviewRecord(dir);
    expect(at(r, 'unknown-step')).toEqual([3]);
    expect(codes(r)).not.toContain('chain-break');
  });

  it('a repeated, skipped or backward sequence number is named with the fault and line', async () => {
    const base = await writeSampleRecord(work(), 'sign', sealer);
    const cases: [string, (ls: Line[]) => void, number][] = [
      ['sequence-duplicate', (ls) => ls.forEach((l, i) => i >= 3 && (l.seq = i)), 4],
      ['sequence-gap', (ls) => ls.forEach((l, i) => i >= 3 && (l.seq = i + 2)), 4],
      ['sequence-out-of-order', (ls) => ls.forEach((l, i) => i >= 4 && (l.seq = i - 1)), 5],
    ];
    for (const [code, edit, line] of cases) {
      const dir = join(work(), basename(base));
      cpSync(base, dir, { recursive: true });
      const lines = readLog(dir);
      edit(lines);
      await forge(dir, lines);
      const r = await reviewRecord(dir);
      expect(r.verdict, code).toBe('tampered');
      expect(at(r, code), code).toEqual([line]);
      expect(codes(r).filter((c) => c.startsWith('sequence-')), code).toEqual([code]);
    }
  });

  it('an untouched sealed record has none of these findings', async () => {
    const r = await reviewRecord(await writeSampleRecord(work(), 'init', sealer));
    expect(r.verdict).toBe('intact');
    expect(r.findings.filter((f) => f.class !== 'note')).toEqual([]);
  });
});

describe('keys/, manifest.json and the folder', () => {
  it('a file in keys/ that is not a certificate is key-file-malformed; a hidden file is ignored', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    writeFileSync(join(dir, 'keys', '.DS_Store'), 'junk');
    expect((await reviewRecord(dir)).verdict).toBe('intact');
    writeFileSync(join(dir, 'keys', 'junk.asc'), 'not a certificate');
    const r = await reviewRecord(dir);
    expect(codes(r)).toEqual(expect.arrayContaining(['key-file-malformed', 'unbound-key-file']));
  });

  it('a private key in keys/ is refused: no record may carry one', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    writeFileSync(join(dir, 'keys', 'leaked.asc'), sealer.privateKey.armor());
    expect(codes(await reviewRecord(dir))).toContain('key-file-malformed');
  });

  it('a sealed record whose manifest.json was deleted is named manifest-missing once', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    unlinkSync(join(dir, 'manifest.json'));
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('tampered');
    expect(codes(r).filter((c) => c === 'manifest-missing')).toHaveLength(1);
    expect(r.artifacts).toEqual([]);
  });

  it('a manifest.json that is not a manifest is manifest-malformed', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    writeFileSync(join(dir, 'manifest.json'), '{"artifacts": 7}');
    const r = await reviewRecord(dir);
    expect(codes(r)).toContain('manifest-malformed');
    expect(r.manifest).toBeUndefined();
  });

  it('artifacts are looked up beside the record folder, where --record-dir put it', async () => {
    const w = work();
    const dir = await writeSampleRecord(w, 'payload-sign', sealer);
    const r = await reviewRecord(dir);
    expect(r.artifacts.map((a) => a.lookedAt).sort()).toEqual([join(w, 'out', 'flatcar_production_update.signed.gz'), join(w, 'release', 'flatcar_production_update.gz')]);
    expect(r.artifacts.every((a) => a.status === 'match')).toBe(true);
  });

  it('a record folder renamed to another ceremony is noted (folder-name-mismatch); its own name is not', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    expect(basename(dir)).toMatch(/^\d{8}T\d{6}Z-sign-[0-9a-f]{8}$/);
    expect(codes(await reviewRecord(dir))).not.toContain('folder-name-mismatch');
    for (const name of [basename(dir).replace('-sign-', '-renew-'), basename(dir).replace(/[0-9a-f]{8}$/, 'deadbeef')]) {
      const moved = join(dirname(dir), name);
      cpSync(dir, moved, { recursive: true });
      const r = await reviewRecord(moved);
      expect(codes(r), name).toContain('folder-name-mismatch');
      expect(r.verdict, name).toBe('intact');
    }
  });

  it('a path that is a file, not a folder, is RECORD_MALFORMED; so is a log that is not a file', async () => {
    const w = work();
    const file = join(w, 'log.jsonl');
    writeFileSync(file, '');
    await expect(reviewRecord(file)).rejects.toSatisfy((e: unknown) => isCeremonyError(e, 'RECORD_MALFORMED'));
    const dir = join(w, 'record');
    mkdirSync(join(dir, 'log.jsonl'), { recursive: true });
    await expect(reviewRecord(dir)).rejects.toSatisfy((e: unknown) => isCeremonyError(e, 'RECORD_MALFORMED'));
  });

  it('a --trusted-key that is not a certificate is refused (CERTIFICATE_MALFORMED), not silently unpinned', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    await expect(reviewRecord(dir, { trustedCertificates: ['not a certificate'] })).rejects.toSatisfy((e: unknown) => isCeremonyError(e, 'CERTIFICATE_MALFORMED'));
  });
});

describe('which finding decides the verdict', () => {
  it('tampering outranks a policy violation, a policy violation outranks an unfinished ceremony', async () => {
    const kind = 'sign';
    const unverified = (f: Parameters<typeof sampleEvents>[1]) => sampleEvents(kind, f).filter((e) => e.step !== 'verify-input');
    const policy = await writeSampleRecord(work(), kind, sealer, { events: unverified });
    expect((await reviewRecord(policy)).verdict).toBe('policy-violation');
    const lines = readLog(policy);
    lines[2]!.ceremony = '0'.repeat(32);
    await forge(policy, lines);
    const both = await reviewRecord(policy);
    expect(codes(both)).toEqual(expect.arrayContaining(['ceremony-id-mismatch', 'policy-sign-before-verify']));
    expect(both.verdict).toBe('tampered');
    const unfinished = await writeSampleRecord(work(), kind, undefined, { events: unverified, stopAfter: 8 });
    const r = await reviewRecord(unfinished);
    expect(codes(r)).toEqual(expect.arrayContaining(['not-finished', 'policy-sign-before-verify']));
    expect(r.verdict).toBe('policy-violation');
    expect(r.outcome).toBe('unfinished');
  });
});
