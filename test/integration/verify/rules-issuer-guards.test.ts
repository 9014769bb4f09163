/**
 * Which pinned key a signature is checked against (ceremony/openpgp/verify/rules.ts, issue 12 item 4; issue 16).
 * The signed Issuer Fingerprint and Issuer Key ID subpackets (RFC 4880 §5.2.3.5, §5.2.3.28) name the issuer; the
 * unhashed ones are hints anyone can add or change. Each test makes, with the build server's real GnuPG key, a
 * signature whose signed and unsigned issuers say one particular thing, and checks whom the verifier believes.
 * GnuPG cannot be told what issuer subpackets to write, so the signature is made with openpgp.js from the secret
 * key GnuPG exported (test/helpers/openpgp-forge.ts). Codes are asserted, not wording.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { makeGpgCorpus, type GpgCorpus } from '../../helpers/gpg-corpus.js';
import { forgeDetachedSignature, issuerFpr, issuerKeyID, secretKeyPacket, type IssuerSubpacket } from '../../helpers/openpgp-forge.js';
import { loadTrustedCertificates, type TrustedCertificate } from '../../../ceremony/openpgp/verify/certificate.js';
import { verifyReleaseFiles } from '../../../ceremony/release/verify-release.js';

let c: GpgCorpus;
let trusted: TrustedCertificate[];
let secret: openpgp.PrivateKey;
let n = 0;

const fpr = issuerFpr;
const keyID = issuerKeyID;

/** Verify `content` (a release file) with a signature of the given issuers, made by `signer`. */
async function verifyWith(signer: string, signed: IssuerSubpacket[], unsigned: IssuerSubpacket[], pinned = trusted) {
  const dir = join(c.dir, `issuer-${++n}`);
  mkdirSync(dir);
  const file = join(dir, 'flatcar_production_image.bin');
  const content = Buffer.from(`issuer case ${n}\n`);
  writeFileSync(file, content);
  const signature = `${file}.sig`;
  writeFileSync(signature, await forgeDetachedSignature(secretKeyPacket(secret, signer), content, { created: new Date(), signed, unsigned }));
  const r = (await verifyReleaseFiles([file], { trusted: pinned, now: new Date(), signature, requireDigests: false }))[0]!;
  if (r.status === 'REJECTED') expect(r.reason).toContain(signature);
  return r;
}

beforeAll(async () => {
  c = makeGpgCorpus();
  trusted = await loadTrustedCertificates([c.build.cert]);
  secret = await openpgp.readPrivateKey({ armoredKey: c.gpg(['--armor', '--export-secret-keys', c.build.primary]) });
});
afterAll(() => c?.cleanup());

describe('the signed issuer decides which pinned key checks a signature', () => {
  it('accepts the way GnuPG 2.2 writes it (signed fingerprint, unsigned key ID) and a signed fingerprint with its own key ID', async () => {
    const s = c.build.current;
    expect(await verifyWith(s, [fpr(s)], [keyID(s)])).toMatchObject({ status: 'VERIFIED', signature: { keyFingerprint: s } });
    expect(await verifyWith(s, [fpr(s), keyID(s)], [])).toMatchObject({ status: 'VERIFIED', signature: { keyFingerprint: s } });
    // the same fingerprint twice is one issuer
    expect(await verifyWith(s, [fpr(s), fpr(s)], [])).toMatchObject({ status: 'VERIFIED', signature: { keyFingerprint: s } });
  });

  it('stops a signature whose signed part names a second pinned key by its key ID (two issuers: which one signed?)', async () => {
    const s = c.build.current;
    const r = await verifyWith(s, [fpr(s), keyID(c.build.expiring)], []);
    expect(r).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_INVALID' });
  });

  it('stops a signature whose signed part names two pinned keys by fingerprint', async () => {
    const s = c.build.current;
    const r = await verifyWith(s, [fpr(c.build.expiring), fpr(s)], []);
    expect(r).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_INVALID' });
  });

  it('a signed key ID alone names the issuer: an unsigned fingerprint of another pinned key does not replace it', async () => {
    const s = c.build.current;
    expect(await verifyWith(s, [keyID(s)], [fpr(c.build.expiring)])).toMatchObject({ status: 'VERIFIED', signature: { keyFingerprint: s } });
  });

  it('stops a signature whose signed issuer is another pinned key, though its unsigned hints name the real signer (no redirect)', async () => {
    // The signature says the expiring subkey made it; the current one did. The signed claim is what the signer
    // vouched for, so the check is against the expiring subkey, and it fails.
    const s = c.build.current;
    const r = await verifyWith(s, [fpr(c.build.expiring)], [fpr(s), keyID(s)]);
    expect(r).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_INVALID' });
  });

  it('a pinned key that shares the signed key ID but not the signed fingerprint does not stand in for the issuer (64-bit key ID collision)', async () => {
    // Two keys with one key ID cost about 2^32 tries (a birthday search over 64 bits). The collision is made in
    // memory: the current subkey is given the expiring subkey's key ID, then signs claiming the expiring subkey by
    // fingerprint and key ID. The signed fingerprint names the expiring subkey, which did not make the signature.
    const s = c.build.current;
    const e = c.build.expiring;
    const [pinned] = await loadTrustedCertificates([c.build.cert]);
    const key = (f: string) => pinned!.key.subkeys.find((k) => k.getFingerprint().toUpperCase() === f)!;
    key(s).keyPacket.keyID = key(e).getKeyID();
    // its back-signature, made by the subkey, carries the subkey's key ID as issuer: the colliding one
    for (const b of key(s).bindingSignatures) b.embeddedSignature!.issuerKeyID = key(e).getKeyID();
    expect(key(s).getKeyID().toHex().toUpperCase()).toBe(e.slice(-16));
    expect(await verifyWith(s, [fpr(e), keyID(e)], [], [pinned!])).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_INVALID' });
    // the same signature naming its own fingerprint is the current subkey's
    expect(await verifyWith(s, [fpr(s)], [], [pinned!])).toMatchObject({ status: 'VERIFIED', signature: { keyFingerprint: s } });
  });
});

describe('without a signed issuer, the unsigned hints only narrow the keys to try', () => {
  it('accepts a signature naming its key by an unsigned key ID only (the way GnuPG 1.4 wrote them)', async () => {
    const s = c.build.current;
    expect(await verifyWith(s, [], [keyID(s)])).toMatchObject({ status: 'VERIFIED', signature: { keyFingerprint: s } });
  });

  it('accepts a good signature whose unsigned hints disagree (a stale fingerprint beside the right key ID): the cryptography decides', async () => {
    // Anyone can change the unsigned area (RFC 4880 §5.2.3.5); refusing here would let anyone break a good
    // signature, accepting the other key would let them pick the key. Every hinted pinned key is tried.
    const s = c.build.current;
    expect(await verifyWith(s, [], [fpr(c.build.expiring), keyID(s)])).toMatchObject({ status: 'VERIFIED', signature: { keyFingerprint: s } });
    expect(await verifyWith(s, [], [keyID(c.build.expiring), fpr(s)])).toMatchObject({ status: 'VERIFIED', signature: { keyFingerprint: s } });
  });

  it('stops a signature whose unsigned hints name only other pinned keys (none of them made it)', async () => {
    const r = await verifyWith(c.build.current, [], [fpr(c.build.expiring), keyID(c.build.primary)]);
    expect(r).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_INVALID' });
  });

  it('stops a signature that names no issuer at all, signed or not (no key to check it with)', async () => {
    expect(await verifyWith(c.build.current, [], [])).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_UNTRUSTED' });
  });
});
