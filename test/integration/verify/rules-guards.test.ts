/**
 * The acceptance rules of ceremony/openpgp/verify/rules.ts that no other test isolates (issue 16): each test makes,
 * with the real GnuPG, a certificate that breaks exactly one rule and a signature the other rules would accept, so
 * the test fails when that one guard is removed. Codes are asserted, not wording.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { makeGpgCorpus, type GpgCorpus } from '../../helpers/gpg-corpus.js';
import { forgeDetachedSignature, secretKeyPacket } from '../../helpers/openpgp-forge.js';
import { loadTrustedCertificates } from '../../../ceremony/openpgp/verify/certificate.js';
import { verifyReleaseFiles } from '../../../ceremony/release/verify-release.js';

const DAY = 86_400;
let c: GpgCorpus;
let n = 0;

function fingerprints(colons: string): string[] {
  return colons
    .split('\n')
    .filter((l) => l.startsWith('fpr:'))
    .map((l) => l.split(':')[9]!);
}

/** A new key in the corpus's GnuPG home; `time` dates it (Unix seconds). */
function newKey(uid: string, algo: string, usage: string, time?: number): string {
  c.gpg([...(time ? ['--faked-system-time', String(time)] : []), '--quick-gen-key', uid, algo, usage, 'never']);
  return fingerprints(c.gpg(['--with-colons', '--list-keys', uid]))[0]!;
}

function addSubkey(primary: string, time?: number): string {
  const before = new Set(fingerprints(c.gpg(['--with-colons', '--list-keys', primary])));
  c.gpg([...(time ? ['--faked-system-time', String(time)] : []), '--quick-add-key', primary, 'rsa2048', 'sign', 'never']);
  return fingerprints(c.gpg(['--with-colons', '--list-keys', primary])).find((f) => !before.has(f))!;
}

/** gpg --edit-key change-usage: toggle the given capability letters on key `index` (0 = primary). */
function changeUsage(primary: string, index: number, toggles: string): void {
  const select = index === 0 ? '' : `key ${index}\n`;
  c.gpg(['--expert', '--command-fd', '0', '--edit-key', primary], `${select}change-usage\n${toggles.split('').join('\n')}\nQ\nsave\n`);
}

function exportCert(primary: string): string {
  const out = join(c.dir, `cert-${primary}.asc`);
  writeFileSync(out, c.gpg(['--armor', '--export', primary]));
  return out;
}

/** A release file in its own folder. */
function file(content: Buffer | string): string {
  const dir = join(c.dir, `guard-${++n}`);
  mkdirSync(dir);
  const p = join(dir, 'flatcar_production_image.bin');
  writeFileSync(p, content);
  return p;
}

async function verify(path: string, certPath: string, signature: string, now = new Date()) {
  const trusted = await loadTrustedCertificates([certPath], now);
  const r = (await verifyReleaseFiles([path], { trusted, now, signature, requireDigests: false }))[0]!;
  // every refusal names the signature it refused
  if (r.status === 'REJECTED') expect(r.reason).toContain(signature);
  return r;
}

beforeAll(() => {
  c = makeGpgCorpus();
});
afterAll(() => c?.cleanup());

describe('rules that stop a signature by a key the pinned certificate no longer vouches for', () => {
  it('stops a signature whose subkey is fine but whose primary key was revoked (compromised root)', async () => {
    const primary = newKey('Revoked Root <revoked-root@example.invalid>', 'rsa2048', 'cert');
    const sub = addSubkey(primary);
    const f = file('signed before the root was revoked\n');
    const sig = c.sign(f, sub);
    const before = exportCert(primary);
    expect(await verify(f, before, sig)).toMatchObject({ status: 'VERIFIED' });
    // gpg wrote a revocation certificate at key generation; its armor line is guarded by a ':' against accidents.
    const rev = readFileSync(join(c.home, 'openpgp-revocs.d', `${primary}.rev`), 'utf8').replace(/^:/m, '');
    c.gpg(['--import'], rev);
    expect(await verify(f, exportCert(primary), sig)).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_KEY_REVOKED' });
  });

  it('stops a signature made by a revoked primary key itself', async () => {
    const primary = newKey('Revoked Signer <revoked-signer@example.invalid>', 'rsa2048', 'sign');
    const f = file('signed by the primary\n');
    const sig = c.sign(f, primary);
    expect(await verify(f, exportCert(primary), sig)).toMatchObject({ status: 'VERIFIED' });
    c.gpg(['--import'], readFileSync(join(c.home, 'openpgp-revocs.d', `${primary}.rev`), 'utf8').replace(/^:/m, ''));
    expect(await verify(f, exportCert(primary), sig)).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_KEY_REVOKED' });
  });

  it('stops a signature made after the primary key expired, though its subkey never expires (replay with a dead root)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const t = now - 10 * DAY;
    const primary = newKey('Expired Root <expired-root@example.invalid>', 'rsa2048', 'cert', t);
    const sub = addSubkey(primary, t);
    const f = file('made after the root expired\n');
    const whileValid = c.sign(f, sub, { time: t + 1800, out: `${f}.valid.sig` });
    const afterExpiry = c.sign(f, sub, { time: now - 5 * DAY, out: `${f}.late.sig` });
    // At t + 1 h the primary's expiry is set to one day: it expired at t + 1 h + 1 d.
    c.gpg(['--faked-system-time', String(t + 3600), '--quick-set-expire', primary, '1d']);
    const cert = exportCert(primary);
    expect(await verify(f, cert, whileValid)).toMatchObject({ status: 'VERIFIED' });
    expect(await verify(f, cert, afterExpiry)).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_KEY_EXPIRED' });
  });

  it('stops a signature dated before its key existed (a back-dated signature)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const primary = newKey('Young Key <young@example.invalid>', 'rsa2048', 'sign', now - DAY);
    const f = file('back-dated\n');
    const sig = `${f}.backdated.sig`;
    c.gpg(['--faked-system-time', String(now - 3 * DAY), '--ignore-time-conflict', '--local-user', `${primary}!`, '--output', sig, '--detach-sign', f]);
    expect(await verify(f, exportCert(primary), sig)).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_INVALID' });
  });

  it('stops a signature by a subkey dated before that subkey existed, though after its primary (a back-dated subkey signature)', async () => {
    // GnuPG will not date a signature before its subkey; whoever holds the subkey can (openpgp.js, from the secret
    // key GnuPG exported). The build server's primary is from t0 - 1 day, its `current` subkey from now.
    const secret = await openpgp.readPrivateKey({ armoredKey: c.gpg(['--armor', '--export-secret-keys', c.build.primary]) });
    const f = file('back-dated by the subkey\n');
    const sig = `${f}.sig`;
    const made = (created: Date) => forgeDetachedSignature(secretKeyPacket(secret, c.build.current), readFileSync(f), { created });
    writeFileSync(sig, await made(new Date()));
    expect(await verify(f, c.build.cert, sig)).toMatchObject({ status: 'VERIFIED' });
    writeFileSync(sig, await made(new Date((c.t0 + DAY) * 1000)));
    expect(await verify(f, c.build.cert, sig)).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_INVALID' });
  });
});

describe('rules on what a key may sign with', () => {
  it('stops a signature by a subkey whose binding no longer flags it for signing (demoted to authentication)', async () => {
    const primary = newKey('Demoted Subkey <demoted-sub@example.invalid>', 'rsa2048', 'cert');
    const sub = addSubkey(primary);
    const f = file('demoted subkey\n');
    const sig = c.sign(f, sub);
    expect(await verify(f, exportCert(primary), sig)).toMatchObject({ status: 'VERIFIED' });
    changeUsage(primary, 1, 'SA');
    expect(c.gpg(['--with-colons', '--list-keys', primary])).toMatch(/^sub:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:a:/m);
    expect(await verify(f, exportCert(primary), sig)).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_NOT_SIGNING_KEY' });
  });

  it('stops a signature by a primary key whose self-signature no longer flags it for signing (certify-only)', async () => {
    const primary = newKey('Demoted Primary <demoted-primary@example.invalid>', 'rsa2048', 'sign');
    const f = file('demoted primary\n');
    const sig = c.sign(f, primary);
    expect(await verify(f, exportCert(primary), sig)).toMatchObject({ status: 'VERIFIED' });
    changeUsage(primary, 0, 'S');
    expect(await verify(f, exportCert(primary), sig)).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_NOT_SIGNING_KEY' });
  });

  it('stops a signature by an RSA key under 2048 bits (factorable key), accepts 2048', async () => {
    const weak = newKey('Weak RSA <weak@example.invalid>', 'rsa1024', 'sign');
    const f = file('weak key\n');
    const r = await verify(f, exportCert(weak), c.sign(f, weak));
    expect(r).toMatchObject({ status: 'REJECTED' });
    expect(r.code).toMatch(/^SIGNATURE_(NOT_SIGNING_KEY|INVALID)$/);
    const ok = newKey('RSA 2048 <rsa2048@example.invalid>', 'rsa2048', 'sign');
    const g = file('2048-bit key\n');
    expect(await verify(g, exportCert(ok), c.sign(g, ok))).toMatchObject({ status: 'VERIFIED' });
  });

  it('stops a signature by a DSA key (an algorithm this verifier does not accept)', async () => {
    const dsa = newKey('DSA Signer <dsa@example.invalid>', 'dsa2048', 'sign');
    const f = file('dsa key\n');
    const r = await verify(f, exportCert(dsa), c.sign(f, dsa, { digestAlgo: 'SHA256' }));
    expect(r).toMatchObject({ status: 'REJECTED' });
    expect(r.code).toMatch(/^SIGNATURE_(NOT_SIGNING_KEY|INVALID)$/);
  });
});

describe('modern keys GnuPG 2.2 cannot make', () => {
  it.each([
    ['Ed25519', 'curve25519'],
    ['Ed448', 'curve448'],
  ] as const)('accepts a signature by an RFC 9580 %s key (made by openpgp.js)', async (_name, type) => {
    const { privateKey, publicKey } = await openpgp.generateKey({ type, userIDs: [{ email: `${type}@example.invalid` }], format: 'armored' });
    const cert = join(c.dir, `cert-${type}.asc`);
    writeFileSync(cert, publicKey);
    const f = file(`signed by ${type}\n`);
    const signingKeys = await openpgp.readPrivateKey({ armoredKey: privateKey });
    const message = await openpgp.createMessage({ binary: readFileSync(f) });
    writeFileSync(`${f}.sig`, await openpgp.sign({ message, signingKeys, detached: true, format: 'binary' }));
    const r = await verify(f, cert, `${f}.sig`);
    expect(r).toMatchObject({ status: 'VERIFIED', signature: { keyFingerprint: signingKeys.getFingerprint().toUpperCase() } });
  });
});

describe('text-mode signatures and the clock', () => {
  it('stops a text-mode signature moved onto a release file whose line endings differ (a different binary)', async () => {
    // RFC 4880 §5.2.1: a 0x01 signature covers the text with every line ending made CR LF, so it also "signs" the
    // CR LF copy of a file with lone LF line ends and trailing spaces: two different binaries, one signature.
    const lf = file('line one  \nline two\t\nlast line without newline');
    const sig = c.sign(lf, c.build.current, { textmode: true, out: `${lf}.text.sig` });
    const crlf = file('line one  \r\nline two\t\r\nlast line without newline');
    expect(await verify(crlf, c.build.cert, sig)).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_INVALID' });
    // and on bytes text canonicalisation leaves alone (no line ends at all), where the digest alone would match
    const flat = file(Buffer.from([0x00, 0xff, 0x20, 0x09, 0x41, 0x7f, 0x80, 0x20]));
    const flatSig = c.sign(flat, c.build.current, { textmode: true, out: `${flat}.text.sig` });
    expect(await verify(flat, c.build.cert, flatSig)).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_INVALID' });
    expect(await verify(flat, c.build.cert, c.sign(flat, c.build.current))).toMatchObject({ status: 'VERIFIED' });
  });

  it('accepts a signature dated exactly 300 s (5 minutes) ahead of this clock, stops one 301 s ahead', async () => {
    const t = Math.floor(Date.now() / 1000) + 5;
    const f = file('clock tolerance\n');
    // frozen clock (`T!`): a running faked clock would date the signature a few seconds after T on a busy machine
    const sig = `${f}.frozen.sig`;
    c.gpg(['--faked-system-time', `${t}!`, '--local-user', `${c.build.current}!`, '--output', sig, '--detach-sign', f]);
    expect(await verify(f, c.build.cert, sig, new Date((t - 300) * 1000))).toMatchObject({ status: 'VERIFIED' });
    const late = await verify(f, c.build.cert, sig, new Date((t - 301) * 1000));
    expect(late).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_FUTURE' });
    // the refusal reports the tolerance it applied
    expect(late.reason).toContain('5-minute clock tolerance');
  });
});
