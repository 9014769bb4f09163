/**
 * The structure findings and limits of the record review (ceremony/audit/review.ts) that the forgery sweep of
 * review.test.ts does not isolate (issue 16): there, a forged line is always also caught by the seal or the chain,
 * so a structure check could go missing unnoticed. Here the forger knows the format: every edited log is
 * re-chained and re-sealed with the record's own key, so only the structure check named by the test can see it.
 * Findings are asserted by code, not wording.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reviewRecord, REVIEW_LIMITS } from '../../../ceremony/audit/review.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { makeOpenpgpSealer, type TestSealer } from '../../helpers/openpgp-sealer.js';
import { forgeLog, readLog, type LogLine } from '../../helpers/forged-log.js';
import { writeSampleRecord } from '../../helpers/audit-records.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

let sealer: TestSealer;
const work = tempDirs('audit-guards-');
beforeAll(async () => {
  sealer = await makeOpenpgpSealer('Ceremony Seal');
});

type Line = LogLine;
const codes = (r: { findings: { code: string }[] }) => r.findings.map((f) => f.code);

/** A forger who knows the format: the edited log re-chained and re-sealed with the record's own key. */
const forge = (dir: string, lines: (Line | string)[]) => forgeLog(dir, lines, sealer);

describe('record structure a re-chained, re-sealed forgery cannot hide', () => {
  it('a forged control: re-chaining and re-sealing an unchanged log leaves it intact', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    await forge(dir, readLog(dir));
    expect((await reviewRecord(dir)).verdict).toBe('intact');
  });

  it('stops a line spliced in from another ceremony (ceremony ID mismatch)', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir);
    const id = lines[3]!.ceremony as string;
    lines[3]!.ceremony = id.slice(0, -1) + (id.endsWith('0') ? '1' : '0');
    await forge(dir, lines);
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('tampered');
    expect(r.findings.find((f) => f.code === 'ceremony-id-mismatch')?.line).toBe(4);
  });

  it('stops a line claiming another kind of ceremony (kind mismatch)', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir);
    lines[2]!.kind = 'renew';
    await forge(dir, lines);
    const r = await reviewRecord(dir);
    expect(r.findings.find((f) => f.code === 'kind-mismatch')?.line).toBe(3);
  });

  it('stops a log whose ceremony-start was removed (missing start: parameters and overrides hidden)', async () => {
    const dir = await writeSampleRecord(work(), 'payload-sign', sealer);
    const lines = readLog(dir).slice(1);
    lines.forEach((l, i) => (l.seq = i + 1));
    await forge(dir, lines);
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('tampered');
    expect(r.findings.find((f) => f.code === 'start-missing')?.line).toBe(1);
  });

  it('stops a second ceremony-start in the middle of a log (parameters replaced mid-way)', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir);
    const restart = { ...lines[0]!, seq: 0 };
    lines.splice(3, 0, restart);
    lines.forEach((l, i) => (l.seq = i + 1));
    await forge(dir, lines);
    expect((await reviewRecord(dir)).findings.find((f) => f.code === 'start-repeated')?.line).toBe(4);
  });

  it('stops an event written after ceremony-end (a step slipped in after the ceremony was over)', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir);
    const end = lines.at(-1)!;
    expect(end.step).toBe('ceremony-end');
    const late = { ...lines.find((l) => l.step === 'sign')!, seq: lines.length + 1, time: end.time };
    lines.push(late);
    await forge(dir, lines);
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('tampered');
    expect(r.findings.find((f) => f.code === 'event-after-end')?.line).toBe(lines.length);
    expect(codes(r)).toContain('seal-without-end');
  });

  it('stops a seal event that does not bind manifest.json (a manifest that can be swapped freely)', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir);
    const seal = lines.find((l) => l.step === 'seal')!;
    const outputs = seal.outputs as { name: string }[];
    expect(outputs.map((o) => o.name)).toContain('manifest.json');
    seal.outputs = outputs.filter((o) => o.name !== 'manifest.json');
    await forge(dir, lines);
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('tampered');
    expect(r.findings.find((f) => f.code === 'manifest-missing')?.line).toBe(lines.indexOf(seal) + 1);
  });

  it('stops a seal event that binds a file outside the record (keys/../ or another folder)', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir);
    const seal = lines.find((l) => l.step === 'seal')!;
    const outputs = seal.outputs as { name: string; sha256: string }[];
    seal.outputs = [...outputs, { ...outputs[0]!, name: 'keys/../log.jsonl' }];
    await forge(dir, lines);
    expect(codes(await reviewRecord(dir))).toContain('bound-file-outside');
  });

  it('stops a seal event naming a key other than the one that made the seal', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir);
    const seal = lines.find((l) => l.step === 'seal')!;
    seal.key = { ...(seal.key as object), fingerprint: 'F'.repeat(40) };
    await forge(dir, lines);
    expect(codes(await reviewRecord(dir))).toContain('seal-key-mismatch');
  });

  it('stops a manifest that belongs to another ceremony', async () => {
    const dir = await writeSampleRecord(work(), 'renew', sealer);
    const other = await writeSampleRecord(work(), 'renew', sealer);
    copyFileSync(join(other, 'manifest.json'), join(dir, 'manifest.json'));
    const r = await reviewRecord(dir);
    expect(codes(r)).toEqual(expect.arrayContaining(['manifest-ceremony-mismatch', 'bound-file-mismatch']));
  });
});

describe('artifacts are compared by content, not by size', () => {
  it('stops an output replaced by one of the same size (a swapped signature file)', async () => {
    const w = work();
    const dir = await writeSampleRecord(w, 'sign', sealer);
    const out = join(w, 'out', 'flatcar_production_image.bin.bz2.sig');
    const bytes = readFileSync(out);
    bytes[10] = bytes[10]! ^ 0x01;
    writeFileSync(out, bytes);
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('tampered');
    const check = r.artifacts.find((a) => a.artifact.name === 'flatcar_production_image.bin.bz2.sig')!;
    expect(check.status).toBe('mismatch');
    expect(r.findings.filter((f) => f.code === 'artifact-mismatch')).toHaveLength(1);
    expect(r.artifacts.filter((a) => a.status === 'match')).toHaveLength(r.artifacts.length - 1);
  });
});

describe('limits on an untrusted record (DoS guards), at the limit and one past it', () => {
  it(`a log line of exactly ${REVIEW_LIMITS.lineBytes} bytes is parsed, one byte more is refused unparsed`, async () => {
    expect(REVIEW_LIMITS.lineBytes).toBe(256 * 1024);
    const dir = await writeSampleRecord(work(), 'sign', undefined, { stopAfter: 2 });
    const base = readFileSync(join(dir, 'log.jsonl'));
    const line = (n: number) => Buffer.from(`"${'x'.repeat(n - 2)}"\n`);
    writeFileSync(join(dir, 'log.jsonl'), Buffer.concat([base, line(262_144)]));
    const at = await reviewRecord(dir);
    expect(at.findings.filter((f) => f.line === 4).map((f) => f.code)).not.toContain('line-too-long');
    expect(at.findings.filter((f) => f.line === 4).map((f) => f.code)).toContain('chain-break');
    writeFileSync(join(dir, 'log.jsonl'), Buffer.concat([base, line(262_145)]));
    const past = await reviewRecord(dir);
    expect(past.findings.filter((f) => f.line === 4).map((f) => f.code)).toEqual(['line-too-long']);
  });

  it('a log of exactly 64 MiB is reviewed, one byte more is RECORD_MALFORMED', async () => {
    expect(REVIEW_LIMITS.logBytes).toBe(64 * 1024 * 1024);
    const dir = await writeSampleRecord(work(), 'sign', undefined, { stopAfter: 1 });
    const base = readFileSync(join(dir, 'log.jsonl'));
    // one over-long line fills the log up to the limit (few lines: the review keeps each line in memory)
    const fill = Buffer.alloc(64 * 1024 * 1024 - base.length, 0x78);
    writeFileSync(join(dir, 'log.jsonl'), Buffer.concat([base, fill]));
    const r = await reviewRecord(dir);
    expect(r.lineCount).toBe(3);
    expect(codes(r)).toEqual(expect.arrayContaining(['torn-line', 'line-too-long']));
    writeFileSync(join(dir, 'log.jsonl'), Buffer.concat([base, fill, Buffer.from('x')]));
    await expect(reviewRecord(dir)).rejects.toSatisfy((e: unknown) => isCeremonyError(e, 'RECORD_MALFORMED'));
  });

  it('a seal of exactly 64 KiB is checked, one byte more is not read (seal-malformed)', async () => {
    expect(REVIEW_LIMITS.sealBytes).toBe(64 * 1024);
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const seal = readFileSync(join(dir, 'log.jsonl.asc'), 'utf8');
    writeFileSync(join(dir, 'log.jsonl.asc'), seal + '\n'.repeat(65_536 - Buffer.byteLength(seal)));
    expect((await reviewRecord(dir)).verdict).toBe('intact');
    writeFileSync(join(dir, 'log.jsonl.asc'), seal + '\n'.repeat(65_537 - Buffer.byteLength(seal)));
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('tampered');
    expect(codes(r)).toContain('seal-malformed');
  });

  it('a manifest of exactly 16 MiB is parsed, one byte more is manifest-malformed', async () => {
    expect(REVIEW_LIMITS.manifestBytes).toBe(16 * 1024 * 1024);
    const dir = await writeSampleRecord(work(), 'init', sealer);
    const manifest = readFileSync(join(dir, 'manifest.json'), 'utf8');
    writeFileSync(join(dir, 'manifest.json'), manifest + ' '.repeat(16 * 1024 * 1024 - Buffer.byteLength(manifest)));
    const at = await reviewRecord(dir);
    expect(codes(at)).not.toContain('manifest-malformed');
    expect(at.manifest).toBeDefined();
    writeFileSync(join(dir, 'manifest.json'), manifest + ' '.repeat(16 * 1024 * 1024 + 1 - Buffer.byteLength(manifest)));
    const past = await reviewRecord(dir);
    expect(codes(past)).toContain('manifest-malformed');
    expect(past.manifest).toBeUndefined();
  });

  it('a key file of exactly 1 MiB is read, one byte more is key-file-malformed', async () => {
    expect(REVIEW_LIMITS.keyFileBytes).toBe(1024 * 1024);
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const [name] = readdirSync(join(dir, 'keys'));
    const path = join(dir, 'keys', name!);
    const cert = readFileSync(path, 'utf8');
    writeFileSync(path, cert + '\n'.repeat(1024 * 1024 - Buffer.byteLength(cert)));
    const at = await reviewRecord(dir);
    expect(codes(at)).not.toContain('key-file-malformed');
    expect(at.keys).toHaveLength(1);
    writeFileSync(path, cert + '\n'.repeat(1024 * 1024 + 1 - Buffer.byteLength(cert)));
    const past = await reviewRecord(dir);
    expect(codes(past)).toContain('key-file-malformed');
    expect(past.keys).toHaveLength(0);
  });

  it('at most 64 key files are read', async () => {
    expect(REVIEW_LIMITS.keyFiles).toBe(64);
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const [name] = readdirSync(join(dir, 'keys'));
    for (let i = 0; i < 64; i++) copyFileSync(join(dir, 'keys', name!), join(dir, 'keys', `copy-${String(i).padStart(2, '0')}.asc`));
    expect(readdirSync(join(dir, 'keys'))).toHaveLength(65);
    const r = await reviewRecord(dir);
    expect(r.keys).toHaveLength(64);
  });
});
