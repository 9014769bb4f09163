import { beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, readFileSync, rmSync, unlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { reviewRecord } from '../../../ceremony/audit/review.js';
import { CEREMONY_KINDS, type EventInput } from '../../../ceremony/audit/events.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { makeOpenpgpSealer, type TestSealer } from '../../helpers/openpgp-sealer.js';
import { sampleEvents, writeSampleRecord, steppingClock } from '../../helpers/audit-records.js';
import { assertEveryMutationCaught } from '../../helpers/record-mutations.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

let sealer: TestSealer;
let other: TestSealer;
const work = tempDirs('audit-review-');
beforeAll(async () => {
  sealer = await makeOpenpgpSealer('Ceremony Seal');
  other = await makeOpenpgpSealer('Forger');
});

const codes = (r: { findings: { code: string }[] }) => r.findings.map((f) => f.code);

describe('reviewRecord: intact records of every kind', () => {
  for (const kind of CEREMONY_KINDS) {
    it(`a sealed ${kind} record reviews as intact, pinned, with every artifact matching and every policy check passing or n/a`, async () => {
      const dir = await writeSampleRecord(work(), kind, sealer);
      const r = await reviewRecord(dir, { trustedCertificates: [sealer.certificateArmored] });
      expect(r.verdict, r.summary).toBe('intact');
      expect(r.outcome).toBe('completed');
      expect(r.kind).toBe(kind);
      expect(r.seal).toMatchObject({ present: true, valid: true, pinned: true, inRecord: true, signerFingerprint: sealer.fingerprint });
      expect(r.artifacts.length).toBeGreaterThan(0);
      expect(r.artifacts.every((a) => a.status === 'match')).toBe(true);
      expect(r.policy.filter((p) => p.outcome === 'fail')).toEqual([]);
      expect(r.keys.map((k) => k.fingerprint)).toContain(sealer.fingerprint);
    });
  }

  it('the renewal record passes the quorum check with three distinct custodians', async () => {
    const r = await reviewRecord(await writeSampleRecord(work(), 'renew', sealer));
    expect(r.policy.find((p) => p.name === 'quorum-before-root-login')).toMatchObject({ outcome: 'pass' });
    expect(codes(r)).toContain('seal-not-pinned');
  });
});

describe('every single-line forgery of a sealed log is caught with a named finding', () => {
  for (const kind of CEREMONY_KINDS) {
    it(`${kind}: edits, re-chained edits, deletions, swaps, duplications and truncations`, async () => {
      const dir = await writeSampleRecord(work(), kind, sealer);
      const result = await assertEveryMutationCaught(dir, { trustedCertificates: [sealer.certificateArmored] });
      console.log(`${kind}: ${result.caught}/${result.total} mutations caught (${result.caughtWithoutSeal} by the chain itself)`, result.byKind);
      expect(result.caught).toBe(result.total);
      expect(result.total).toBeGreaterThan(100);
      for (const k of Object.values(result.byKind)) expect(k).toBeGreaterThan(0);
    });
  }
});

describe('reviewRecord: attacks on the seal and the files it binds', () => {
  it('a record re-sealed by a forger with the forger certificate in keys/ is caught when the auditor pins the key', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    for (const f of readdirSync(join(dir, 'keys'))) unlinkSync(join(dir, 'keys', f));
    writeFileSync(join(dir, 'keys', 'forger.asc'), other.certificateArmored);
    writeFileSync(join(dir, 'log.jsonl.asc'), await other.sign(readFileSync(join(dir, 'log.jsonl'))));
    const r = await reviewRecord(dir, { trustedCertificates: [sealer.certificateArmored] });
    expect(r.verdict).toBe('tampered');
    expect(codes(r)).toEqual(expect.arrayContaining(['seal-untrusted', 'bound-file-missing', 'unbound-key-file']));
  });

  it('a seal by the pinned key whose certificate was removed from keys/ is named', async () => {
    const dir = await writeSampleRecord(work(), 'payload-sign', sealer);
    for (const f of readdirSync(join(dir, 'keys'))) unlinkSync(join(dir, 'keys', f));
    const r = await reviewRecord(dir, { trustedCertificates: [sealer.certificateArmored] });
    expect(r.verdict).toBe('tampered');
    expect(codes(r)).toEqual(expect.arrayContaining(['seal-key-not-in-record', 'bound-file-missing']));
  });

  it('a garbled seal is named seal-malformed; a seal over other bytes is seal-invalid', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const good = readFileSync(join(dir, 'log.jsonl.asc'), 'utf8');
    writeFileSync(join(dir, 'log.jsonl.asc'), 'not a signature');
    expect(codes(await reviewRecord(dir))).toContain('seal-malformed');
    writeFileSync(join(dir, 'log.jsonl.asc'), await sealer.sign(Buffer.from('something else')));
    expect(codes(await reviewRecord(dir))).toContain('seal-invalid');
    writeFileSync(join(dir, 'log.jsonl.asc'), good);
    expect((await reviewRecord(dir)).verdict).toBe('intact');
  });

  it('an edited manifest (hiding a swapped output) is caught through the hash the seal event binds', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { artifacts: { sha256: string }[] };
    m.artifacts[0]!.sha256 = 'f'.repeat(64);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('tampered');
    expect(codes(r)).toContain('bound-file-mismatch');
  });

  it('an output replaced after the ceremony no longer matches the manifest', async () => {
    const w = work();
    const dir = await writeSampleRecord(w, 'sign', sealer);
    appendFileSync(join(w, 'out', 'flatcar_production_image.bin.bz2.sig'), 'x');
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('tampered');
    expect(r.findings.find((f) => f.code === 'artifact-mismatch')?.message).toContain('flatcar_production_image.bin.bz2.sig');
  });

  it('absent artifacts are a note, not a failure (the record travelled without them)', async () => {
    const w = work();
    const dir = await writeSampleRecord(w, 'payload-sign', sealer);
    rmSync(join(w, 'out'), { recursive: true });
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('intact');
    expect(r.artifacts.filter((a) => a.status === 'absent')).toHaveLength(1);
    expect(codes(r)).toContain('artifact-absent');
  });

  it('a deleted seal of an ended log reads as incomplete (seal-missing), never intact', async () => {
    const dir = await writeSampleRecord(work(), 'init', sealer);
    unlinkSync(join(dir, 'log.jsonl.asc'));
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('incomplete');
    expect(codes(r)).toContain('seal-missing');
  });
});

describe('reviewRecord: incomplete records', () => {
  it('a ceremony that stopped before its seal is "incomplete, stopped after step X", not tampered', async () => {
    const dir = await writeSampleRecord(work(), 'sign', undefined, { stopAfter: 7 });
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('incomplete');
    expect(r.outcome).toBe('unfinished');
    expect(r.summary).toBe('incomplete, stopped after step hsm-login (line 8)');
    expect(r.findings.filter((f) => f.class === 'tampered')).toEqual([]);
  });

  it('an incomplete log with an edited middle line is tampered, not incomplete', async () => {
    const dir = await writeSampleRecord(work(), 'renew', undefined, { stopAfter: 6 });
    const ls = readFileSync(join(dir, 'log.jsonl'), 'utf8').split('\n');
    ls[3] = ls[3]!.replace('"ok"', '"warning"');
    writeFileSync(join(dir, 'log.jsonl'), ls.join('\n'));
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('tampered');
    expect(r.findings.find((f) => f.code === 'chain-break')?.line).toBe(5);
  });
});

describe('reviewRecord: policy', () => {
  const withEvents = (kind: 'sign' | 'renew' | 'payload-sign', edit: (evs: EventInput[]) => EventInput[]) => async () =>
    reviewRecord(await writeSampleRecord(work(), kind, sealer, { events: (f) => edit(sampleEvents(kind, f)) }));

  it('signing an input before verifying it is a policy violation', async () => {
    const r = await withEvents('sign', (evs) => evs.filter((e) => !(e.step === 'verify-input' && e.detail.includes('DIGESTS'))))();
    expect(r.verdict).toBe('policy-violation');
    expect(r.findings.find((f) => f.code === 'policy-sign-before-verify')?.message).toContain('DIGESTS');
    expect(r.policy.find((p) => p.name === 'inputs-verified-before-signing')?.outcome).toBe('fail');
  });

  it('a renewal that unlocks the root key with two custodians presenting three shares breaks the quorum rule', async () => {
    const r = await withEvents('renew', (evs) =>
      evs.map((e) => (e.step === 'share-accepted' && e.actor?.name === 'carol' ? { ...e, actor: { role: 'custodian' as const, name: 'alice' } } : e)),
    )();
    expect(r.verdict).toBe('policy-violation');
    expect(codes(r)).toContain('policy-quorum-not-met');
  });

  it('a renewal that logs into the root token before k shares arrived breaks the quorum rule', async () => {
    const r = await withEvents('renew', (evs) => {
      const login = evs.findIndex((e) => e.step === 'root-login');
      const [l] = evs.splice(login, 1);
      evs.splice(evs.findIndex((e) => e.step === 'share-accepted') + 1, 0, l!);
      return evs;
    })();
    expect(codes(r)).toContain('policy-quorum-not-met');
  });

  it('a renewal whose new quorum is smaller cannot lower the k needed to unlock the root key (k comes from the set in force)', async () => {
    const r = await withEvents('renew', (evs) =>
      evs
        .filter((e) => !(e.step === 'share-accepted' && e.actor?.name === 'carol'))
        .map((e) => (e.step === 'quorum-session' ? { ...e, quorum: { ...e.quorum!, threshold: 2 } } : e)),
    )();
    expect(r.verdict).toBe('policy-violation');
    expect(r.findings.find((f) => f.code === 'policy-quorum-not-met')?.message).toMatch(/fewer than the threshold 3/);
  });

  it('signing with an expired key is a policy violation naming the key and the time', async () => {
    const r = await withEvents('payload-sign', (evs) =>
      evs.map((e) => (e.step === 'sign' ? { ...e, key: { ...e.key, validUntil: '2026-06-30T00:00:00.000Z' } } : e)),
    )();
    expect(r.verdict).toBe('policy-violation');
    expect(r.findings.find((f) => f.code === 'policy-key-not-valid')?.message).toMatch(/after it expired at 2026-06-30/);
  });

  it('a step after a failure (signing on after a digest mismatch) is a policy violation', async () => {
    const r = await withEvents('sign', (evs) => {
      const i = evs.findIndex((e) => e.step === 'verify-input');
      evs[i] = { ...evs[i]!, result: 'failed', code: 'DIGEST_MISMATCH' };
      return evs;
    })();
    expect(r.verdict).toBe('policy-violation');
    expect(codes(r)).toEqual(expect.arrayContaining(['policy-step-after-failure', 'ceremony-failed']));
  });

  it('a sealed ceremony that refused and stopped reviews as refused (not incomplete), with outcome failed', async () => {
    const r = await withEvents('sign', (evs) => {
      const i = evs.findIndex((e) => e.step === 'verify-input');
      return [...evs.slice(0, i), { ...evs[i]!, result: 'failed', code: 'DIGEST_MISMATCH' }];
    })();
    expect(r.verdict).toBe('refused');
    expect(r.headline).toBe('refused at step verify-input (seal not pinned)');
    expect(r.refusal).toMatchObject({ step: 'verify-input', code: 'DIGEST_MISMATCH' });
    expect(r.summary).toMatch(/^refused at step verify-input \(seal not pinned\) \(line \d+\): DIGEST_MISMATCH: /);
    expect(r.outcome).toBe('failed');
    expect(r.policy.find((p) => p.name === 'nothing-after-failure')?.outcome).toBe('pass');
  });

  it('the --allow-network override is shown as a warning, not hidden', async () => {
    const r = await reviewRecord(await writeSampleRecord(work(), 'payload-sign', sealer));
    expect(r.policy.find((p) => p.name === 'air-gap')).toMatchObject({ outcome: 'warning' });
    expect(codes(r)).toContain('network-override');
  });
});

describe('reviewRecord: input that is not a record', () => {
  it('a folder without log.jsonl is RECORD_MALFORMED (exit 2)', async () => {
    await expect(reviewRecord(work())).rejects.toSatisfy((e: unknown) => isCeremonyError(e, 'RECORD_MALFORMED'));
  });

  it('a time going backwards is named even when the chain is consistent (forged clock)', async () => {
    const times = ['2026-11-22T01:30:00.000Z', '2026-11-22T01:31:00.000Z', '2026-11-22T01:29:00.000Z'];
    let i = 0;
    const now = () => new Date(times[Math.min(i++, times.length - 1)]!);
    const dir = await writeSampleRecord(work(), 'payload-sign', undefined, { now, stopAfter: 3 });
    const r = await reviewRecord(dir);
    expect(codes(r)).toContain('time-backwards');
    void steppingClock;
  });
});
