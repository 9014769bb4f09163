/**
 * The edges of the time and key rules of ceremony/openpgp/verify/rules.ts, to the second, with real GnuPG keys and
 * signatures made at frozen times (`--faked-system-time T!`): a validity that ends at E covers a signature made at
 * E - 1 and not one made at E; a key covers signatures from its creation on. Also the elliptic-curve keys the
 * verifier accepts, and keys whose self-signatures are gone. Codes are asserted, not wording.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeGpgCorpus, type GpgCorpus } from '../../helpers/gpg-corpus.js';
import { loadTrustedCertificates } from '../../../ceremony/openpgp/verify/certificate.js';
import { verifyReleaseFiles } from '../../../ceremony/release/verify-release.js';

const DAY = 86_400;
let c: GpgCorpus;
let n = 0;
let file: string;

const fingerprints = (colons: string) =>
  colons
    .split('\n')
    .filter((l) => l.startsWith('fpr:'))
    .map((l) => l.split(':')[9]!);
const frozen = (t: number) => ['--faked-system-time', `${t}!`, '--ignore-time-conflict'];

function newKey(uid: string, algo: string, usage: string, t?: number): string {
  c.gpg([...(t ? frozen(t) : []), '--quick-gen-key', uid, algo, usage, 'never']);
  return fingerprints(c.gpg(['--with-colons', '--list-keys', uid]))[0]!;
}
function addSubkey(primary: string, t: number): string {
  const before = new Set(fingerprints(c.gpg(['--with-colons', '--list-keys', primary])));
  c.gpg([...frozen(t), '--quick-add-key', primary, 'rsa2048', 'sign', 'never']);
  return fingerprints(c.gpg(['--with-colons', '--list-keys', primary])).find((f) => !before.has(f))!;
}
function signAt(key: string, t: number, extra: string[] = []): string {
  const out = join(c.dir, `edge-${++n}.sig`);
  c.gpg([...frozen(t), ...extra, '--local-user', `${key}!`, '--output', out, '--detach-sign', file]);
  return out;
}
function exportCert(primary: string): string {
  const out = join(c.dir, `edge-cert-${++n}.asc`);
  writeFileSync(out, c.gpg(['--armor', '--export', primary]));
  return out;
}
async function verify(cert: string, signature: string, now = new Date()) {
  const trusted = await loadTrustedCertificates([cert], now);
  const r = (await verifyReleaseFiles([file], { trusted, now, signature, requireDigests: false }))[0]!;
  // every refusal names the signature it refused
  if (r.status === 'REJECTED') expect(r.reason).toContain(signature);
  return r;
}

beforeAll(() => {
  c = makeGpgCorpus();
  mkdirSync(join(c.dir, 'edges'));
  file = join(c.dir, 'edges', 'flatcar_production_image.bin');
  writeFileSync(file, 'edge cases\n');
});
afterAll(() => c?.cleanup());

describe('validity ends are exclusive, to the second', () => {
  it("a signature's own expiration: valid one second before it, expired at it", async () => {
    const s = Math.floor(Date.now() / 1000) + 10;
    const sig = signAt(c.build.current, s, ['--default-sig-expire', '1d']);
    expect(await verify(c.build.cert, sig, new Date((s + DAY - 1) * 1000))).toMatchObject({ status: 'VERIFIED' });
    expect(await verify(c.build.cert, sig, new Date((s + DAY) * 1000))).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_INVALID' });
  });

  it('a primary key that expires at E covers a signature made at E - 1 and not one made at E', async () => {
    const t = Math.floor(Date.now() / 1000) - 10 * DAY;
    const primary = newKey('Edge Root <edge-root@example.invalid>', 'rsa2048', 'cert', t);
    const sub = addSubkey(primary, t);
    const end = t + 3600 + DAY;
    const before = signAt(sub, end - 1);
    const at = signAt(sub, end);
    c.gpg([...frozen(t + 3600), '--quick-set-expire', primary, '1d']);
    const cert = exportCert(primary);
    expect(await verify(cert, before)).toMatchObject({ status: 'VERIFIED' });
    expect(await verify(cert, at)).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_KEY_EXPIRED' });
  });

  it('a subkey that expires at E covers a signature made at E - 1 and not one made at E', async () => {
    const t = Math.floor(Date.now() / 1000) - 10 * DAY;
    const primary = newKey('Edge Subkey <edge-sub@example.invalid>', 'rsa2048', 'cert', t);
    const sub = addSubkey(primary, t);
    const end = t + 3600 + DAY;
    const before = signAt(sub, end - 1);
    const at = signAt(sub, end);
    c.gpg([...frozen(t + 3600), '--quick-set-expire', primary, '1d', sub]);
    const cert = exportCert(primary);
    expect(await verify(cert, before)).toMatchObject({ status: 'VERIFIED' });
    expect(await verify(cert, at)).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_KEY_EXPIRED' });
  });
});

describe('a key signs only from its creation on', () => {
  it('a signature made in the very second its key was created is accepted', async () => {
    // (GnuPG refuses to make a subkey signature dated before the subkey, so that case is only the primary's.)
    const t = Math.floor(Date.now() / 1000) - 10 * DAY;
    const primary = newKey('Late Subkey <late-sub@example.invalid>', 'rsa2048', 'cert', t);
    const sub = addSubkey(primary, t + 2 * DAY);
    expect(await verify(exportCert(primary), signAt(sub, t + 2 * DAY))).toMatchObject({ status: 'VERIFIED' });
    const signer = newKey('Same Second <same-second@example.invalid>', 'rsa2048', 'sign', t);
    expect(await verify(exportCert(signer), signAt(signer, t))).toMatchObject({ status: 'VERIFIED' });
  });

  it('a subkey dated before its primary: a signature between the two is refused (the certificate did not exist yet)', async () => {
    const t = Math.floor(Date.now() / 1000) - 10 * DAY;
    const primary = newKey('Early Subkey <early-sub@example.invalid>', 'rsa2048', 'cert', t);
    const sub = addSubkey(primary, t - 2 * DAY);
    const between = signAt(sub, t - DAY);
    const r = await verify(exportCert(primary), between);
    expect(r).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_INVALID' });
  });
});

describe('keys the verifier accepts, and whom a signature names', () => {
  it.each([
    ['EdDSA (Ed25519, the legacy OpenPGP v4 encoding GnuPG 2.2 writes)', 'ed25519'],
    ['ECDSA over NIST P-256', 'nistp256'],
  ])('accepts a signature by an %s key', async (_name, algo) => {
    const key = newKey(`Curve ${algo} <${algo}@example.invalid>`, algo, 'sign');
    const sig = signAt(key, Math.floor(Date.now() / 1000), ['--digest-algo', 'SHA256']);
    expect(await verify(exportCert(key), sig)).toMatchObject({ status: 'VERIFIED', signature: { keyFingerprint: key, primaryFingerprint: key } });
  });

  it('stops a signature by a subkey whose binding signature is gone, and by a primary key with no self-signature left', async () => {
    // What a pinned certificate says about its keys is only what its valid self-signatures say (RFC 4880 §5.2.1,
    // 0x18 and 0x13); the certificates are edited in memory, as a damaged or stripped copy would arrive.
    const sigPath = signAt(c.build.current, Math.floor(Date.now() / 1000));
    const [cert] = await loadTrustedCertificates([c.build.cert]);
    cert!.key.subkeys.find((s) => s.getFingerprint().toUpperCase() === c.build.current)!.bindingSignatures = [];
    const unbound = (await verifyReleaseFiles([file], { trusted: [cert!], now: new Date(), signature: sigPath, requireDigests: false }))[0]!;
    expect(unbound).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_NOT_SIGNING_KEY' });
    expect(unbound.reason).toContain(sigPath);

    const signer = newKey('Stripped Primary <stripped@example.invalid>', 'rsa2048', 'sign');
    const own = signAt(signer, Math.floor(Date.now() / 1000));
    const [pinned] = await loadTrustedCertificates([exportCert(signer)]);
    for (const user of pinned!.key.users) user.selfCertifications = [];
    const stripped = (await verifyReleaseFiles([file], { trusted: [pinned!], now: new Date(), signature: own, requireDigests: false }))[0]!;
    expect(stripped).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_NOT_SIGNING_KEY' });
    expect(stripped.reason).toContain(own);
  });

  it('names the refused signature when it is refused before its data is read (weak hash, unpinned key)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sha1 = signAt(c.build.current, now, ['--digest-algo', 'SHA1']);
    expect(await verify(c.build.cert, sha1)).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_WEAK_HASH' });
    const stranger = signAt(c.untrusted.primary, now);
    const r = await verify(c.build.cert, stranger);
    expect(r).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_UNTRUSTED' });
    // and names the unpinned key that made it, from the signed Issuer Fingerprint
    expect(r.reason).toContain(c.untrusted.primary);
  });
});
