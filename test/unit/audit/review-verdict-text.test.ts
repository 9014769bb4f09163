/**
 * What the review tells people and the exit status, asserted whole (issue 16, the full mutation run of
 * ceremony/audit/review.ts): which verdicts pass, how the seal's signer is named (as GnuPG does: the
 * subkey, then its primary), and the summary line of an intact, an unpinned and a tampered record. A
 * verdict that passed when it should not, or a sentence that named the wrong key, went unseen before.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reviewRecord, sealSignerText, verdictPasses, type Verdict } from '../../../ceremony/audit/review.js';
import type { SealStatus } from '../../../ceremony/audit/seal-check.js';
import { makeOpenpgpSealer, type TestSealer } from '../../helpers/openpgp-sealer.js';
import { writeSampleRecord } from '../../helpers/audit-records.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

let sealer: TestSealer;
const work = tempDirs('audit-verdict-text-');
beforeAll(async () => {
  sealer = await makeOpenpgpSealer('Ceremony Seal');
});

describe('which verdicts pass (exit 0)', () => {
  const expected: Record<Verdict, boolean> = { intact: true, refused: true, 'refused-unsealed': false, incomplete: false, tampered: false, 'policy-violation': false };
  for (const [verdict, passes] of Object.entries(expected) as [Verdict, boolean][]) {
    it(`${verdict} ${passes ? 'passes' : 'fails'}: a record that proves nothing is never exit 0`, () => {
      expect(verdictPasses(verdict)).toBe(passes);
    });
  }
});

describe('the seal names the key that made it, as GnuPG does', () => {
  const P = 'A'.repeat(40);
  const S = 'B'.repeat(40);
  const seal = (s: Partial<SealStatus>) => s as SealStatus;
  it('a subkey that sealed is named with its primary', () => {
    expect(sealSignerText(seal({ signerFingerprint: P, signingKeyFingerprint: S }))).toBe(`subkey ${S} of primary ${P}`);
  });
  it('a primary that sealed itself is named once, as a key', () => {
    expect(sealSignerText(seal({ signerFingerprint: P, signingKeyFingerprint: P }))).toBe(`key ${P}`);
  });
  it('a signer known only by its certificate, or only by the signing key, is still named', () => {
    expect(sealSignerText(seal({ signerFingerprint: P }))).toBe(`key ${P}`);
    expect(sealSignerText(seal({ signingKeyFingerprint: S }))).toBe(`key ${S}`);
  });
  it('a seal by no key the record holds says so instead of naming one', () => {
    expect(sealSignerText(seal({}))).toBe('key an unknown key');
  });
});

describe('the summary line', () => {
  it('an intact record sealed by a pinned certificate says so, with its line count', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8').trimEnd().split('\n').length;
    const r = await reviewRecord(dir, { trustedCertificates: [sealer.certificateArmored] });
    expect(r.headline).toBe('intact');
    expect(r.summary).toBe(`intact: ${lines} of ${lines} lines, sealed by ${sealSignerText(r.seal)}, a pinned certificate; the ceremony completed`);
    expect(sealSignerText(r.seal)).toContain(sealer.fingerprint);
  });

  it('an unpinned seal is never reported as pinned (a forger may have re-sealed it with his own key)', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8').trimEnd().split('\n').length;
    const r = await reviewRecord(dir);
    expect(r.headline).toBe('intact (seal not pinned)');
    expect(r.summary).toBe(`intact (seal not pinned): ${lines} of ${lines} lines, sealed by ${sealSignerText(r.seal)}, checked only against the record's own keys/ (give --trusted-key to pin); the ceremony completed`);
  });

  it('a tampered record counts its tampering findings and names the first', async () => {
    // payload-sign: its --allow-network override adds a finding of another class, which is not counted
    const dir = await writeSampleRecord(work(), 'payload-sign', sealer);
    writeFileSync(join(dir, 'manifest.json'), '{}');
    const r = await reviewRecord(dir, { trustedCertificates: [sealer.certificateArmored] });
    expect(r.verdict).toBe('tampered');
    const tampered = r.findings.filter((f) => f.class === 'tampered');
    expect(tampered.length).toBeGreaterThan(0);
    expect(r.findings.length).toBeGreaterThan(tampered.length);
    expect(r.summary).toBe(`tampered: ${tampered.length} finding(s), first: ${tampered[0]!.message}`);
  });
});
