/**
 * Designated revokers (issue 12.2; RFC 4880 §5.2.3.15): a build-server certificate that authorises another key to
 * revoke it, built with real GnuPG (test/helpers/gpg-revoker.ts: `addrevoker`, `--desig-revoke`). GnuPG reports
 * a signature under such a certificate, once the revoker has revoked it, as made by a revoked key; openpgp.js
 * ignores revocations by other keys and accepted it. Each case asserts our verdict beside GnuPG's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { loadTrustedCertificates } from '../../../ceremony/openpgp/verify/certificate.js';
import { verifyReleaseFiles } from '../../../ceremony/release/verify-release.js';
import { makeGpgHome } from '../../helpers/gpg.js';
import { expectCleanError, runCeremony } from '../../helpers/cli.js';
import { makeRevokerMaterial, type RevokerMaterial } from '../../helpers/gpg-revoker.js';

let m: RevokerMaterial;
let dir: string;
let revoker: string;
let build: string;
let cert: RevokerMaterial['cert'];
let file: string;
let signature: string;

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
  const r = (await verifyReleaseFiles([file], { trusted: pinned, now: new Date(), signature, requireDigests: false }))[0]!;
  // every refusal names the signature it refused (the file's, or that of the DIGESTS beside it: FILE.DIGESTS.asc)
  if (r.status === 'REJECTED') expect(r.reason?.startsWith(file)).toBe(true);
  return r;
}

beforeAll(() => {
  m = makeRevokerMaterial();
  ({ dir, revoker, build, cert, file, signature } = m);
});
afterAll(() => m?.cleanup());

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

  it('stops a signature when the revocation comes as the revocation certificate gpg --desig-revoke wrote, given beside the certificate', async () => {
    expect(await ours([m.cert.named], [m.cert.revoker, m.revocation])).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_KEY_REVOKED' });
    expect(gnupg(m.cert.named, m.cert.revoker, m.revocation)).toBe('revoked');
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
      const base = { hsm: { rootToken: 'root', signingToken: 'signing' }, identity: { name: 'Example', email: 'security@example.org' }, quorum: { threshold: 2, custodians: [{ name: 'alice' }, { name: 'bob' }] } };
      writeFileSync(out, JSON.stringify({ ...base, trustedBuildKeys: [cert.revoked], ...(revokerKeys ? { revokerKeys } : {}) }));
      return out;
    };
    expectCleanError(runCeremony(['verify', '--config', config([cert.revoker]), file]), 'SIGNATURE_KEY_REVOKED', 1);
    expectCleanError(runCeremony(['verify', '--config', config(), file]), 'SIGNATURE_REVOKER_UNKNOWN', 1);
  });
});
