/**
 * Designated revokers (issue 12.2; RFC 4880 §5.2.3.15): a build-server certificate that authorises another key to
 * revoke it, built with real GnuPG (`--quick-gen-key`, `addrevoker`, `--desig-revoke`, `--import`). GnuPG reports
 * a signature under such a certificate, once the revoker has revoked it, as made by a revoked key; openpgp.js
 * ignores revocations by other keys and accepted it. Each case asserts our verdict beside GnuPG's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as openpgp from 'openpgp';
import { loadTrustedCertificates } from '../../../ceremony/openpgp/verify/certificate.js';
import { verifyReleaseFiles } from '../../../ceremony/release/verify-release.js';
import { makeGpgHome } from '../../helpers/gpg.js';
import { expectCleanError, runCeremony } from '../../helpers/cli.js';

let dir: string;
let home: string;
/** Fingerprints. */
let revoker: string;
let build: string;
/** Certificates: the revoker's; the build server's naming it, before and after the revocation; an unrelated key. */
const cert = { revoker: '', named: '', revoked: '', stranger: '' };
let file: string;
let signature: string;

function gpg(args: string[], input?: string): string {
  const r = spawnSync('gpg', ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gpg ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const fingerprintOf = (uid: string) => gpg(['--with-colons', '--list-keys', uid]).split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9]!;

function exportTo(name: string, fpr: string): string {
  const out = join(dir, name);
  writeFileSync(out, gpg(['--armor', '--export', fpr]));
  return out;
}

/** GnuPG's verdict with exactly these certificates imported: 'revoked', 'good' or 'bad'. */
function gnupg(...certs: string[]): string {
  const g = makeGpgHome();
  try {
    for (const c of certs) g.run(['--import', c]);
    const status = g.verify(signature, file).status;
    if (status.some((l) => l.startsWith('REVKEYSIG ')) && status.includes('KEYREVOKED')) return 'revoked';
    return status.some((l) => l.startsWith('GOODSIG ')) ? 'good' : 'bad';
  } finally {
    g.cleanup();
  }
}

async function ours(trusted: string[], revokers: string[] = []) {
  const pinned = await loadTrustedCertificates(trusted, new Date(), revokers);
  return (await verifyReleaseFiles([file], { trusted: pinned, now: new Date(), signature, requireDigests: false }))[0]!;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'desig-'));
  home = join(dir, 'gnupg');
  spawnSync('mkdir', ['-m', '700', home]);
  gpg(['--quick-gen-key', 'Release Revoker <revoker@example.invalid>', 'ed25519', 'cert', 'never']);
  gpg(['--quick-gen-key', 'Build Server <build@example.invalid>', 'ed25519', 'sign', 'never']);
  gpg(['--quick-gen-key', 'Stranger <stranger@example.invalid>', 'ed25519', 'cert', 'never']);
  revoker = fingerprintOf('revoker@example.invalid');
  build = fingerprintOf('build@example.invalid');
  // gpg --edit-key BUILD addrevoker: a direct-key self-signature (0x1F) naming the revoker.
  gpg(['--command-fd', '0', '--status-fd', '2', '--edit-key', build], `addrevoker\n${revoker}\ny\nsave\n`);
  cert.revoker = exportTo('revoker.asc', revoker);
  cert.named = exportTo('build-names-revoker.asc', build);
  cert.stranger = exportTo('stranger.asc', fingerprintOf('stranger@example.invalid'));
  file = join(dir, 'flatcar_production_image.bin');
  writeFileSync(file, 'release made before the key was revoked\n');
  signature = `${file}.sig`;
  gpg(['--local-user', `${build}!`, '--output', signature, '--detach-sign', file]);
  // and its DIGESTS beside it, as the CLI wants them (Flatcar layout, SHA-512)
  writeFileSync(`${file}.DIGESTS`, `# SHA512 HASH\n${createHash('sha512').update(readFileSync(file)).digest('hex')}  ${basename(file)}\n`);
  gpg(['--local-user', `${build}!`, '--output', `${file}.DIGESTS.asc`, '--clearsign', `${file}.DIGESTS`]);
  // The revoker revokes the build key (reason: compromised). --desig-revoke refuses --batch, so it is driven
  // through --command-fd; the revocation certificate is then imported and the build certificate exported again.
  const rev = join(dir, 'desig.rev');
  const r = spawnSync('gpg', ['--homedir', home, '--no-tty', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', '--command-fd', '0', '--status-fd', '2', '--armor', '--output', rev, '--desig-revoke', build], {
    input: 'y\n1\nkey compromised\n\ny\n',
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`gpg --desig-revoke failed: ${r.stderr}`);
  gpg(['--import', rev]);
  cert.revoked = exportTo('build-revoked.asc', build);
});
afterAll(() => {
  spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
  rmSync(dir, { recursive: true, force: true });
});

describe('designated revokers', () => {
  it('stops a signature under a certificate its designated revoker has revoked (revoker given with --revoker-key, or pinned)', async () => {
    expect(await ours([cert.revoked], [cert.revoker])).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_KEY_REVOKED' });
    expect(await ours([cert.revoked, cert.revoker])).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_KEY_REVOKED' });
    const [pinned] = await loadTrustedCertificates([cert.revoked], new Date(), [cert.revoker]);
    expect(pinned!.description.designatedRevocation).toEqual({ revokers: [revoker], unchecked: [], revokedBy: revoker });
    expect(pinned!.description.primary.state).toBe('revoked');
    expect(gnupg(cert.revoked, cert.revoker)).toBe('revoked');
    // Sequoia's sqv does not act on designated revocations: it accepts (we follow GnuPG).
    expect(spawnSync('sqv', ['--keyring', cert.revoked, '--keyring', cert.revoker, signature, file]).status).toBe(0);
  });

  it('refuses to trust a certificate naming a designated revoker whose certificate was not given (its revocations cannot be checked)', async () => {
    for (const c of [cert.revoked, cert.named]) {
      const r = await ours([c]);
      expect(r, c).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_REVOKER_UNKNOWN' });
      expect(r.reason).toContain(revoker);
      // a certificate of someone else is no substitute
      expect(await ours([c], [cert.stranger]), c).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_REVOKER_UNKNOWN' });
    }
    const [pinned] = await loadTrustedCertificates([cert.named]);
    expect(pinned!.description.primary.state).toBe('revoker-unchecked');
    // GnuPG, without the revoker's key, accepts and only warns that the key "might be revoked"; we refuse.
    expect(gnupg(cert.revoked)).toBe('good');
  });

  it('accepts a certificate whose designated revoker is known and has not revoked it', async () => {
    const r = await ours([cert.named], [cert.revoker]);
    expect(r).toMatchObject({ status: 'VERIFIED', signature: { primaryFingerprint: build, keyFingerprint: build } });
    expect(gnupg(cert.named, cert.revoker)).toBe('good');
  });

  it('ignores a key revocation made by a key the certificate does not name as its revoker', async () => {
    // A stranger's 0x20 over the build key, appended to the certificate: only a named revoker may revoke.
    const { privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'Forger' }], format: 'object' });
    const target = await openpgp.readKey({ armoredKey: readFileSync(cert.named, 'utf8') });
    const forged = new openpgp.SignaturePacket();
    forged.signatureType = openpgp.enums.signature.keyRevocation;
    forged.publicKeyAlgorithm = privateKey.keyPacket.algorithm;
    forged.hashAlgorithm = openpgp.enums.hash.sha256;
    await forged.sign(privateKey.keyPacket as openpgp.SecretKeyPacket, { key: target.keyPacket }, new Date(), false, openpgp.config);
    (target as unknown as { revocationSignatures: openpgp.SignaturePacket[] }).revocationSignatures.push(forged);
    const tampered = join(dir, 'build-forged-revocation.asc');
    writeFileSync(tampered, target.armor());
    const forger = join(dir, 'forger.asc');
    writeFileSync(forger, privateKey.toPublic().armor());
    expect(await ours([tampered], [cert.revoker, forger])).toMatchObject({ status: 'VERIFIED' });
    expect(gnupg(tampered, cert.revoker, forger)).toBe('good');
  });

  it('takes the revoker from --revoker-key on the command line (exit 1, error[SIGNATURE_KEY_REVOKED])', () => {
    const run = runCeremony(['verify', '--trusted-key', cert.revoked, '--revoker-key', cert.revoker, file]);
    expectCleanError(run, 'SIGNATURE_KEY_REVOKED', 1);
    expect(run.stdout).toContain('HAS REVOKED this certificate');
    const without = runCeremony(['verify', '--trusted-key', cert.revoked, file]);
    expectCleanError(without, 'SIGNATURE_REVOKER_UNKNOWN', 1);
    expect(without.stderr).toContain('--revoker-key');
    expect(runCeremony(['verify', '--trusted-key', cert.named, '--revoker-key', cert.revoker, file]).code).toBe(0);
  });

  it("takes the revoker from the config's revokerKeys beside trustedBuildKeys", () => {
    const config = (revokerKeys?: string[]) => {
      const out = join(dir, `config-${revokerKeys ? 'with' : 'without'}-revoker.json`);
      const base = { hsm: { rootToken: 'root', signingToken: 'signing' }, identity: { name: 'Example', email: 'security@example.org' }, quorum: { threshold: 1, custodians: [{ name: 'alice' }] } };
      writeFileSync(out, JSON.stringify({ ...base, trustedBuildKeys: [cert.revoked], ...(revokerKeys ? { revokerKeys } : {}) }));
      return out;
    };
    expectCleanError(runCeremony(['verify', '--config', config([cert.revoker]), file]), 'SIGNATURE_KEY_REVOKED', 1);
    expectCleanError(runCeremony(['verify', '--config', config(), file]), 'SIGNATURE_REVOKER_UNKNOWN', 1);
  });
});
