/**
 * The signature rules of issue 3 against a real GnuPG corpus, through the library API the ceremonies call.
 * Each refusal test is named after the attack (or accident) it stops and asserts the code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { makeGpgCorpus, type GpgCorpus } from '../../helpers/gpg-corpus.js';
import { loadTrustedCertificates, type TrustedCertificate } from '../../../ceremony/openpgp/verify/certificate.js';
import { verifyReleaseFiles } from '../../../ceremony/release/verify-release.js';
import { CLOCK_TOLERANCE_MS, completeSignature, prepareSignature } from '../../../ceremony/openpgp/verify/rules.js';
import { parseDetachedSignature } from '../../../ceremony/openpgp/verify/signature.js';
import { createHash } from 'node:crypto';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { appendUnhashedSubpacket } from '../../helpers/openpgp-tamper.js';
import { spawnSync } from 'node:child_process';

let c: GpgCorpus;
let trusted: TrustedCertificate[];
let n = 0;

/** A release file in its own folder, with its .sig by `key` and a clearsigned Flatcar DIGESTS. */
function release(content: Buffer | string, key = c.build.current): string {
  const dir = join(c.dir, `case-${++n}`);
  mkdirSync(dir);
  const file = join(dir, 'flatcar_production_image.bin');
  writeFileSync(file, content);
  c.sign(file, key);
  c.clearsign(c.flatcarDigests(`${file}.DIGESTS`, [file]), key);
  return file;
}

beforeAll(async () => {
  c = makeGpgCorpus();
  trusted = await loadTrustedCertificates([c.build.cert]);
});
afterAll(() => c?.cleanup());

const verify1 = async (file: string, opts: { signature?: string; digests?: string; now?: Date; requireDigests?: boolean } = {}) =>
  (await verifyReleaseFiles([file], { trusted, now: new Date(), ...opts }))[0]!;

describe('build-server signatures (GnuPG corpus)', () => {
  it('accepts a good binary signature and names the signer primary and subkey', async () => {
    const file = release('release contents\n');
    const r = await verify1(file);
    expect(r).toMatchObject({ status: 'VERIFIED', code: null, size: 17 });
    expect(r.signature).toMatchObject({ primaryFingerprint: c.build.primary, keyFingerprint: c.build.current, source: `${file}.sig` });
    expect(r.digestsCheck).toMatchObject({ form: 'clearsigned', checked: ['md5', 'sha1', 'sha512'] });
  });

  it('accepts a signature made while its subkey was valid, though the subkey has expired since', async () => {
    const r = await verify1(c.sample, { signature: c.signatures.byExpiringWhileValid, requireDigests: false });
    expect(r).toMatchObject({ status: 'VERIFIED' });
    expect(r.signature!.keyFingerprint).toBe(c.build.expiring);
    expect(r.signature!.created.getTime()).toBe((c.t0 + 3600) * 1000);
  });

  it('stops a signature by a subkey revoked as compromised', async () => {
    const r = await verify1(c.sample, { signature: c.signatures.byRevoked, requireDigests: false });
    expect(r).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_KEY_REVOKED' });
    expect(r.reason).toContain(c.signatures.byRevoked);
  });

  it('stops a signature made after its subkey had expired', async () => {
    const r = await verify1(c.sample, { signature: c.signatures.byExpiredKey, requireDigests: false });
    expect(r).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_KEY_EXPIRED' });
  });

  it('stops a signature dated beyond the clock tolerance, accepts one within it', async () => {
    const file = release('future\n');
    const soon = Date.now() / 1000 + CLOCK_TOLERANCE_MS / 1000 / 2;
    c.sign(file, c.build.current, { time: soon, out: `${file}.soon.sig` });
    expect(await verify1(file, { signature: `${file}.soon.sig` })).toMatchObject({ status: 'VERIFIED' });
    c.sign(file, c.build.current, { time: Date.now() / 1000 + 86_400, out: `${file}.tomorrow.sig` });
    expect(await verify1(file, { signature: `${file}.tomorrow.sig` })).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_FUTURE' });
  });

  it('stops a text-mode signature offered for a binary release file', async () => {
    const file = release('text mode\n');
    c.sign(file, c.build.current, { textmode: true, out: `${file}.text.sig` });
    expect(await verify1(file, { signature: `${file}.text.sig` })).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_INVALID' });
  });

  it('stops a SHA-1 signature before reading the file', async () => {
    const file = release('sha1\n');
    c.sign(file, c.build.current, { digestAlgo: 'SHA1', out: `${file}.sha1.sig` });
    const r = await verify1(file, { signature: `${file}.sha1.sig` });
    expect(r).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_WEAK_HASH', size: null });
  });

  it('verifies several files against one clearsigned DIGESTS listing them all', async () => {
    const dir = join(c.dir, 'multi');
    mkdirSync(dir);
    const files = ['a.bin', 'b.bin', 'c.bin'].map((f, i) => {
      const p = join(dir, f);
      writeFileSync(p, Buffer.alloc(1000 + i, i + 1));
      c.sign(p, c.build.current);
      return p;
    });
    const digests = c.clearsign(c.flatcarDigests(join(dir, 'release.DIGESTS'), files, ['md5', 'sha1', 'sha256', 'sha512']), c.build.current);
    const rs = await verifyReleaseFiles(files, { trusted, now: new Date(), digests });
    expect(rs.map((r) => r.status)).toEqual(['VERIFIED', 'VERIFIED', 'VERIFIED']);
    expect(rs[2]!.digestsCheck!.checked).toEqual(['md5', 'sha1', 'sha256', 'sha512']);
  });

  it('reads a large file once through the worker lanes with the same verdict and digests as the serial pass', async () => {
    const file = release(Buffer.alloc(9 * 1024 * 1024 + 7, 0xa5));
    const serial = (await verifyReleaseFiles([file], { trusted, now: new Date(), parallel: false }))[0]!;
    const lanes = (await verifyReleaseFiles([file], { trusted, now: new Date(), parallel: true }))[0]!;
    expect(serial.status).toBe('VERIFIED');
    expect(lanes).toEqual(serial);
    copyFileSync(file, `${file}.copy`);
    writeFileSync(file, Buffer.concat([readFileSync(`${file}.copy`), Buffer.from('x')]));
    expect((await verifyReleaseFiles([file], { trusted, now: new Date(), parallel: true }))[0]).toMatchObject({ code: 'SIGNATURE_INVALID' });
  });

  it('stops a forgery whose quick-check bytes match: the RSA check itself runs on our precomputed digest', async () => {
    // The two "left 16 bits" of the digest sit in the unhashed part of the packet (RFC 4880 §5.2.3): anyone can set
    // them. A signature over A, relabelled so they match B, must still fail on B.
    const a = release('file A\n');
    const b = release('file B\n');
    const sig = await parseDetachedSignature(readFileSync(`${a}.sig`), `${a}.sig`);
    const rules = { trusted, now: new Date(), kinds: ['binary' as const] };
    const prepared = prepareSignature(sig, rules);
    const digestOfB = createHash(prepared.hash).update(readFileSync(b)).update(prepared.trailer).digest();
    sig.packet.signedHashValue = digestOfB.subarray(0, 2);
    await expect(completeSignature(prepared, digestOfB, rules)).rejects.toSatisfy((e: unknown) => isCeremonyError(e, 'SIGNATURE_INVALID'));
    const digestOfA = createHash(prepared.hash).update(readFileSync(a)).update(prepared.trailer).digest();
    sig.packet.signedHashValue = digestOfA.subarray(0, 2);
    await expect(completeSignature(prepared, digestOfA, rules)).resolves.toMatchObject({ keyFingerprint: c.build.current });
  });

  it('stops a signing subkey whose binding has no valid back-signature (a subkey claimed without its consent)', async () => {
    const file = release('back-signature\n');
    const [cert] = await loadTrustedCertificates([c.build.cert]);
    const sub = cert!.key.subkeys.find((s) => s.getFingerprint().toUpperCase() === c.build.current)!;
    const other = cert!.key.subkeys.find((s) => s.getFingerprint().toUpperCase() === c.build.revoked)!;
    // the back-signature of another subkey does not vouch for this one
    for (const b of sub.bindingSignatures) b.embeddedSignature = other.bindingSignatures[0]!.embeddedSignature;
    const swapped = (await verifyReleaseFiles([file], { trusted: [cert!], now: new Date() }))[0]!;
    expect(swapped).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_NOT_SIGNING_KEY' });
    // named by the first signature checked, the DIGESTS' (FILE.DIGESTS.asc)
    expect(swapped.reason?.startsWith(file)).toBe(true);
    for (const b of sub.bindingSignatures) b.embeddedSignature = null;
    const missing = (await verifyReleaseFiles([file], { trusted: [cert!], now: new Date() }))[0]!;
    expect(missing).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_NOT_SIGNING_KEY' });
  });

  it('accepts a signature made directly by a primary key flagged for signing (no subkey)', async () => {
    const file = release('primary signs\n', c.untrusted.primary);
    const pinned = await loadTrustedCertificates([c.untrusted.cert]);
    const r = (await verifyReleaseFiles([file], { trusted: pinned, now: new Date() }))[0]!;
    expect(r).toMatchObject({ status: 'VERIFIED', signature: { primaryFingerprint: c.untrusted.primary, keyFingerprint: c.untrusted.primary } });
  });

  it('stops a signature past its own expiration time', async () => {
    const file = release('short-lived signature\n');
    const out = `${file}.expiring.sig`;
    c.gpg(['--default-sig-expire', '1d', '--local-user', `${c.build.current}!`, '--output', out, '--detach-sign', file]);
    expect((await verifyReleaseFiles([file], { trusted, now: new Date(), signature: out }))[0]).toMatchObject({ status: 'VERIFIED' });
    const r = (await verifyReleaseFiles([file], { trusted, now: new Date(Date.now() + 2 * 86_400_000), signature: out }))[0]!;
    expect(r).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_INVALID' });
    expect(r.reason).toMatch(/expired on/);
  });

  it('stops an unhashed issuer from overriding the signed issuer fingerprint (extra issuer naming another key)', async () => {
    // Anyone can add an unhashed Issuer subpacket without breaking a signature (RFC 4880 §5.2.3.5); openpgp.js lets
    // the last one read win. Naming a stranger made the good signature "untrusted", naming another pinned subkey
    // (here the revoked one) made it "invalid": the signed Issuer Fingerprint must decide which key checks it.
    const file = release('extra unhashed issuer\n');
    const original = readFileSync(`${file}.sig`);
    for (const [label, other] of [['stranger', c.untrusted.primary], ['revoked subkey', c.build.revoked]] as const) {
      const sig = `${file}.${label.replace(' ', '-')}.sig`;
      writeFileSync(sig, appendUnhashedSubpacket(original, 16, Buffer.from(other.slice(-16), 'hex')));
      const r = await verify1(file, { signature: sig });
      expect(r, label).toMatchObject({ status: 'VERIFIED', signature: { keyFingerprint: c.build.current } });
      // GnuPG and Sequoia agree: the signature is good, made by the current subkey.
      expect(c.gpg(['--status-fd', '1', '--verify', sig, file])).toContain(`VALIDSIG ${c.build.current}`);
      expect(spawnSync('sqv', ['--keyring', c.build.cert, sig, file], { encoding: 'utf8' })).toMatchObject({ status: 0, stdout: `${c.build.primary}\n` });
    }
  });

  it("verifies against a Flatcar SDK DIGESTS with a BLAKE2B section (b2sum, sha512sum, gpg --clearsign), checking BLAKE2b-512 in the same read", async () => {
    // Gentoo catalyst, which builds Flatcar's SDK, writes `# BLAKE2B HASH` with b2sum's output; the whole list used
    // to be refused as malformed.
    const dir = join(c.dir, 'sdk');
    mkdirSync(dir);
    const file = join(dir, 'flatcar-sdk-amd64.tar.bz2');
    writeFileSync(file, Buffer.alloc(70_000, 0x5a));
    c.sign(file, c.build.current);
    const sum = (tool: string) => {
      const r = spawnSync(tool, [basename(file)], { cwd: dir, encoding: 'utf8' });
      expect(r.status, tool).toBe(0);
      return r.stdout;
    };
    const digests = (name: string, text: string) => c.clearsign((writeFileSync(join(dir, name), text), join(dir, name)), c.build.current);
    const good = digests('sdk.DIGESTS', `# BLAKE2B HASH\n${sum('b2sum')}# SHA512 HASH\n${sum('sha512sum')}`);
    const r = await verify1(file, { digests: good });
    expect(r).toMatchObject({ status: 'VERIFIED', digestsCheck: { checked: ['blake2b512', 'sha512'] } });
    expect(r.digests.blake2b512).toBe(sum('b2sum').split(' ')[0]);

    // the BLAKE2b digest is really compared: a wrong one (of other bytes) is refused though SHA-512 matches
    const other = join(dir, 'other');
    writeFileSync(other, 'other bytes');
    const wrongB2 = spawnSync('b2sum', [other], { encoding: 'utf8' }).stdout.split(' ')[0];
    const bad = digests('bad.DIGESTS', `# BLAKE2B HASH\n${wrongB2}  ${basename(file)}\n# SHA512 HASH\n${sum('sha512sum')}`);
    expect(await verify1(file, { digests: bad })).toMatchObject({ status: 'REJECTED', code: 'DIGEST_MISMATCH' });

    // headers in lower case, and an unknown section that is reported, not fatal
    const mixed = digests('mixed.DIGESTS', `# whirlpool hash\n${'ab'.repeat(64)}  ${basename(file)}\n# blake2b hash\n${sum('b2sum')}# sha512 hash\n${sum('sha512sum')}`);
    const m = await verify1(file, { digests: mixed });
    expect(m).toMatchObject({ status: 'VERIFIED', digestsCheck: { checked: ['blake2b512', 'sha512'] } });
    expect(m.notices.join('\n')).toMatch(/line 1: the "whirlpool" section names a digest algorithm this verifier does not know/);
    // without SHA-512 the list still does not vouch for the file
    const noSha512 = digests('b2only.DIGESTS', `# BLAKE2B HASH\n${sum('b2sum')}`);
    expect(await verify1(file, { digests: noSha512 })).toMatchObject({ status: 'REJECTED', code: 'DIGEST_MISSING' });
  });
});
