/**
 * The guards of reviewRecord that the whole-file mutation run of ceremony/audit/review.ts (issue 16) showed
 * unpinned: what is not a record at all, a --trusted-key list that pins nothing, a seal made by a subkey and the
 * key its seal event claims, the files the last seal event binds, a sealed record without its manifest, a
 * refusal that names no step, artifact names that are not plain file names, the folder name's clock, and the
 * sentences the auditor reads for each. Each test is named after the fault it stops.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { reviewRecord, type Review } from '../../../ceremony/audit/review.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { makeOpenpgpSealer, type TestSealer } from '../../helpers/openpgp-sealer.js';
import { forgeLog, readLog, type LogLine } from '../../helpers/forged-log.js';
import { sampleEvents, writeSampleRecord } from '../../helpers/audit-records.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

let sealer: TestSealer;
const work = tempDirs('audit-record-guards-');
beforeAll(async () => {
  sealer = await makeOpenpgpSealer('Ceremony Seal');
});

const codes = (r: Review) => r.findings.map((f) => f.code);
const messages = (r: Review, code: string) => r.findings.filter((f) => f.code === code).map((f) => f.message);
const only = (r: Review, code: string) => {
  const found = r.findings.filter((f) => f.code === code);
  expect(found, `exactly one ${code} in ${JSON.stringify(codes(r))}`).toHaveLength(1);
  return found[0]!;
};
const forge = (dir: string, lines: (LogLine | string)[], by: TestSealer = sealer) => forgeLog(dir, lines, by);
const sealLine = (lines: LogLine[]) => lines.findIndex((l) => l.step === 'seal') + 1;
const keyFile = (dir: string) => readdirSync(join(dir, 'keys'))[0]!;

/** A seal key whose signatures are made by a signing subkey, as an HSM-held subkey makes them. */
async function subkeySealer(): Promise<TestSealer & { subkeyFingerprint: string }> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'Ceremony Seal', email: 'seal@example.org' }],
    subkeys: [{ sign: true }],
    format: 'armored',
  });
  const key = await openpgp.readPrivateKey({ armoredKey: privateKey });
  const signing = await key.getSigningKey();
  return {
    privateKey: key,
    certificateArmored: publicKey,
    fingerprint: key.getFingerprint().toUpperCase(),
    subkeyFingerprint: signing.getFingerprint().toUpperCase(),
    description: 'test key with a signing subkey (openpgp.js)',
    async sign(data: Buffer): Promise<string> {
      const message = await openpgp.createMessage({ binary: data });
      return (await openpgp.sign({ message, signingKeys: key, detached: true, format: 'armored' })) as string;
    },
  };
}

describe('what is not a record is refused whole (RECORD_MALFORMED), with the reason', () => {
  it('a folder that does not exist is not reviewed as an empty record', async () => {
    const missing = join(work(), 'no-such-record');
    await expect(reviewRecord(missing)).rejects.toSatisfy(
      (e: unknown) => isCeremonyError(e, 'RECORD_MALFORMED') && (e as Error).message === `${missing} is not a ceremony record (no folder with a log.jsonl)`,
    );
  });

  it('a folder without log.jsonl is not reviewed as an empty record', async () => {
    const dir = join(work(), 'empty');
    mkdirSync(dir);
    await expect(reviewRecord(dir)).rejects.toSatisfy(
      (e: unknown) => isCeremonyError(e, 'RECORD_MALFORMED') && (e as Error).message === `${dir} is not a ceremony record (no folder with a log.jsonl)`,
    );
  });

  it('a log.jsonl that is not a regular file is refused, and the refusal keeps its cause', async () => {
    const dir = join(work(), 'rec');
    mkdirSync(join(dir, 'log.jsonl'), { recursive: true });
    const e = await reviewRecord(dir).then(
      () => undefined,
      (x: unknown) => x as Error & { cause?: Error & { cause?: Error } },
    );
    expect(isCeremonyError(e, 'RECORD_MALFORMED')).toBe(true);
    expect(e!.message).toBe(`the log of ${dir} cannot be read or is too large`);
    expect(isCeremonyError(e!.cause, 'RECORD_MALFORMED')).toBe(true);
    expect(e!.cause!.message).toBe(`the log ${join(dir, 'log.jsonl')} is not a regular file of at most ${64 * 1024 * 1024} bytes`);
    expect(e!.cause!.cause?.message).toMatch(new RegExp(`^the log ${join(dir, 'log.jsonl')} `));
  });
});

describe('a --trusted-key list that pins nothing is refused, never read as "unpinned"', () => {
  const malformed = (e: unknown) => isCeremonyError(e, 'CERTIFICATE_MALFORMED') && (e as Error).message === 'a --trusted-key file is not an OpenPGP public certificate';
  it('an empty list of trusted certificates', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    await expect(reviewRecord(dir, { trustedCertificates: [] })).rejects.toSatisfy(malformed);
  });
  it('a good certificate beside one that is not a certificate', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    await expect(reviewRecord(dir, { trustedCertificates: [sealer.certificateArmored, 'not a certificate'] })).rejects.toSatisfy(malformed);
  });
});

describe('the key a seal event claims, for a seal made by a subkey', () => {
  const claiming = async (claim: string | undefined) => {
    const s = await subkeySealer();
    const dir = await writeSampleRecord(work(), 'sign', s);
    const lines = readLog(dir);
    const seal = lines.find((l) => l.step === 'seal')!;
    if (claim === undefined) delete seal.key;
    else seal.key = { ...(seal.key as object), fingerprint: claim === 'primary' ? s.fingerprint : claim === 'subkey' ? s.subkeyFingerprint : claim };
    await forge(dir, lines, s);
    return { r: await reviewRecord(dir, { trustedCertificates: [s.certificateArmored] }), s, line: sealLine(lines) };
  };

  it('a seal event naming the primary of the subkey that sealed is the same key (not tampered)', async () => {
    const { r, s } = await claiming('primary');
    expect(r.seal.signingKeyFingerprint).toBe(s.subkeyFingerprint);
    expect(codes(r)).not.toContain('seal-key-mismatch');
    expect(r.verdict).toBe('intact');
  });

  it('a seal event naming the subkey that sealed is the same key (not tampered)', async () => {
    const { r } = await claiming('subkey');
    expect(codes(r)).not.toContain('seal-key-mismatch');
    expect(r.verdict).toBe('intact');
  });

  it('a seal event that names no key claims nothing to contradict', async () => {
    const { r } = await claiming(undefined);
    expect(codes(r)).not.toContain('seal-key-mismatch');
  });

  it('a seal event naming another key is tampering, said with both keys', async () => {
    const other = 'F'.repeat(40);
    const { r, s, line } = await claiming(other);
    const f = only(r, 'seal-key-mismatch');
    expect(f.message).toBe(`the seal event names key ${other} but the seal was made by ${s.fingerprint}`);
    expect(f.line).toBe(line);
    expect(r.verdict).toBe('tampered');
  });
});

describe('the files the seal binds', () => {
  it('only the last seal event binds: an earlier one cannot smuggle a file or a key claim past it', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir);
    const at = lines.findIndex((l) => l.step === 'seal');
    const decoy = { ...lines[at]!, key: { ...(lines[at]!.key as object), fingerprint: 'F'.repeat(40) }, outputs: [{ ...(lines[at]!.outputs as object[])[0]!, name: 'keys/../log.jsonl' }] };
    lines.splice(at, 0, decoy);
    lines.forEach((l, i) => (l.seq = i + 1));
    await forge(dir, lines);
    const r = await reviewRecord(dir);
    expect(codes(r)).not.toContain('bound-file-outside');
    expect(codes(r)).not.toContain('seal-key-mismatch');
    // and the last one is the one checked: it is still read, the manifest bound to it matches
    expect(codes(r)).not.toContain('manifest-missing');
  });

  it('a bound manifest.json that was deleted is manifest-missing, at the seal event, once', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const line = sealLine(readLog(dir));
    unlinkSync(join(dir, 'manifest.json'));
    const r = await reviewRecord(dir);
    const f = only(r, 'manifest-missing');
    expect(f.message).toBe(`manifest.json is bound by the seal event (line ${line}) but missing`);
    expect(f.line).toBe(line);
    expect(codes(r)).not.toContain('bound-file-missing');
    expect(r.verdict).toBe('tampered');
  });

  it('a sealed log whose seal event was cut out still needs its manifest (manifest-missing)', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir).filter((l) => l.step !== 'seal');
    lines.forEach((l, i) => (l.seq = i + 1));
    await forge(dir, lines);
    unlinkSync(join(dir, 'manifest.json'));
    const r = await reviewRecord(dir);
    expect(only(r, 'manifest-missing').message).toBe('the record is sealed but manifest.json is missing');
    expect(r.verdict).toBe('tampered');
  });

  it('a bound key file that was deleted is bound-file-missing, said with the seal line', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const line = sealLine(readLog(dir));
    const name = keyFile(dir);
    unlinkSync(join(dir, 'keys', name));
    const f = only(await reviewRecord(dir), 'bound-file-missing');
    expect(f.message).toBe(`keys/${name} is bound by the seal event (line ${line}) but missing`);
    expect(f.line).toBe(line);
  });

  it('a bound key file replaced by something unreadable is bound-file-mismatch, never skipped', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const line = sealLine(readLog(dir));
    const name = keyFile(dir);
    unlinkSync(join(dir, 'keys', name));
    mkdirSync(join(dir, 'keys', name));
    const r = await reviewRecord(dir);
    const f = only(r, 'bound-file-mismatch');
    expect(f.message).toBe(`keys/${name} cannot be read`);
    expect(f.line).toBe(line);
    expect(only(r, 'key-file-malformed').message).toBe(`keys/${name} cannot be read or is too large`);
    expect(r.verdict).toBe('tampered');
  });

  it('a bound file outside the record and an unbound manifest are said in whole sentences', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir);
    const seal = lines.find((l) => l.step === 'seal')!;
    seal.outputs = [...(seal.outputs as { name: string }[]).filter((o) => o.name !== 'manifest.json'), { name: '../elsewhere', sha256: '0'.repeat(64), size: 1 }];
    await forge(dir, lines);
    const r = await reviewRecord(dir);
    const line = sealLine(lines);
    expect(only(r, 'bound-file-outside').message).toBe(`the seal event (line ${line}) binds ../elsewhere, which is not a file of the record`);
    expect(only(r, 'manifest-missing').message).toBe(`the seal event (line ${line}) does not bind manifest.json`);
  });

  it('a seal event that binds no files at all still has to bind manifest.json', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir);
    delete lines.find((l) => l.step === 'seal')!.outputs;
    await forge(dir, lines);
    const r = await reviewRecord(dir);
    expect(only(r, 'manifest-missing').message).toBe(`the seal event (line ${sealLine(lines)}) does not bind manifest.json`);
    expect(codes(r)).not.toContain('bound-file-outside');
    expect(r.verdict).toBe('tampered');
  });

  it('a bound name that only starts or only ends like a key file is outside the record (keys/x/../../.., sub/keys/x)', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir);
    const seal = lines.find((l) => l.step === 'seal')!;
    const ref = { sha256: '0'.repeat(64), size: 1 };
    seal.outputs = [...(seal.outputs as object[]), { name: 'keys/a/../../../outside', ...ref }, { name: 'sub/keys/a', ...ref }];
    await forge(dir, lines);
    const r = await reviewRecord(dir);
    expect(r.findings.filter((f) => f.code === 'bound-file-outside').map((f) => f.message)).toEqual(
      ['keys/a/../../../outside', 'sub/keys/a'].map((n) => `the seal event (line ${sealLine(lines)}) binds ${n}, which is not a file of the record`),
    );
  });

  it('a bound key file whose bytes changed is said with the seal line', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const line = sealLine(readLog(dir));
    const name = keyFile(dir);
    writeFileSync(join(dir, 'keys', name), readFileSync(join(dir, 'keys', name), 'utf8') + '\n');
    const f = only(await reviewRecord(dir), 'bound-file-mismatch');
    expect(f.message).toBe(`keys/${name} does not match the SHA-256 recorded by the seal event (line ${line})`);
  });

  it('a sealed log with a line after ceremony-end does not count as ended (seal-without-end)', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir);
    await forge(dir, [...lines, '{not json}']);
    const r = await reviewRecord(dir);
    expect(messages(r, 'seal-without-end')).toEqual([`the record is sealed but its log does not end with ceremony-end (last line ${lines.length + 1}: ceremony-end)`]);
  });

  it('an artifact of the right SHA-256 but another recorded size is a mismatch', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { artifacts: { size: number }[] };
    m.artifacts[0]!.size += 1;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    const r = await reviewRecord(dir);
    expect(r.artifacts[0]!.status).toBe('mismatch');
    expect(r.artifacts.slice(1).every((a) => a.status === 'match')).toBe(true);
  });

  it('a tampered record with an unpinned seal names its first tampering, not the unpinned-seal note', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    writeFileSync(join(dir, 'manifest.json'), '{}');
    const r = await reviewRecord(dir);
    const tampered = r.findings.filter((f) => f.class === 'tampered');
    expect(r.findings[0]!.class).not.toBe('tampered');
    expect(r.summary).toBe(`tampered: ${tampered.length} finding(s), first: ${tampered[0]!.message}`);
  });

  it('an unsealed record without a keys/ folder has no key file to find fault with', async () => {
    const dir = await writeSampleRecord(work(), 'sign', undefined, { stopAfter: 3 });
    rmSync(join(dir, 'keys'), { recursive: true, force: true });
    const r = await reviewRecord(dir);
    expect(r.keys).toEqual([]);
    expect(codes(r)).toEqual(['not-finished']);
    expect(r.verdict).toBe('incomplete');
  });

  it('the key files are read and reported in name order, each named by its place in the record', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const name = keyFile(dir);
    const cert = readFileSync(join(dir, 'keys', name));
    for (const n of ['z-late.asc', 'm-middle.asc', 'a-early.asc']) writeFileSync(join(dir, 'keys', n), cert);
    const r = await reviewRecord(dir);
    const expected = ['a-early.asc', 'm-middle.asc', name, 'z-late.asc'].sort().map((n) => `keys/${n}`);
    expect(r.keys.map((k) => k.source)).toEqual(expected);
    expect(r.findings.filter((f) => f.code === 'unbound-key-file').map((f) => f.message)).toEqual(
      ['a-early.asc', 'm-middle.asc', 'z-late.asc'].map((n) => `keys/${n} was added after the record was sealed (the seal event does not list it)`),
    );
  });
});

describe('a refusal that names no step', () => {
  it('a log whose only failure is ceremony-end reads "refused at step unknown", never a made-up step', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const lines = readLog(dir);
    const end = lines.at(-1)!;
    expect(end.step).toBe('ceremony-end');
    end.result = 'failed';
    await forge(dir, lines);
    const r = await reviewRecord(dir);
    expect(r.refusal).toBeUndefined();
    expect(r.headline).toBe('refused at step unknown (seal not pinned)');
    expect(r.summary).toBe(
      `refused at step unknown (seal not pinned) (line ?): ; ${lines.length} of ${lines.length} lines, sealed by key ${sealer.fingerprint}, checked only against the record's own keys/ (give --trusted-key to pin)`,
    );
  });
});

describe('what the review reports beside the verdict', () => {
  it('a policy violation reads "policy violation", counts only policy findings and names the first', async () => {
    const unverified = (f: Parameters<typeof sampleEvents>[1]) => sampleEvents('sign', f).filter((e) => e.step !== 'verify-input');
    const dir = await writeSampleRecord(work(), 'sign', undefined, { events: unverified, stopAfter: 8 });
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('policy-violation');
    expect(r.headline).toBe('policy violation');
    const policy = r.findings.filter((f) => f.class === 'policy');
    expect(r.findings.length).toBeGreaterThan(policy.length);
    expect(r.findings[0]!.class).not.toBe('policy');
    expect(r.summary).toBe(`policy violation: ${policy.length} finding(s), first: ${policy[0]!.message}`);
  });

  it('the parameters and the last step of the log are reported', async () => {
    const dir = await writeSampleRecord(work(), 'sign', undefined, { stopAfter: 3 });
    const lines = readLog(dir);
    const r = await reviewRecord(dir);
    expect(r.parameters).toEqual(lines[0]!.parameters);
    expect(r.lastStep).toBe(lines.at(-1)!.step);
    expect(only(r, 'not-finished').message).toBe(`incomplete, stopped after step ${lines.at(-1)!.step as string} (line ${lines.length})`);
  });

  it('an incomplete record that was refused says where, as the log tells it', async () => {
    const refusing = (f: Parameters<typeof sampleEvents>[1]) => {
      const evs = sampleEvents('sign', f);
      const i = evs.findIndex((e) => e.step === 'verify-input');
      return [...evs.slice(0, i), { ...evs[i]!, result: 'failed' as const, code: 'SIGNATURE_INVALID', detail: 'the DIGESTS signature does not verify' }];
    };
    const dir = await writeSampleRecord(work(), 'sign', undefined, { events: refusing });
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('incomplete');
    const first = r.findings.find((f) => f.class === 'incomplete')!.message;
    expect(r.summary).toBe(`${first}; the log says the ceremony was refused at step verify-input (line ${r.refusal!.line}): the DIGESTS signature does not verify`);
  });
});
