/** The demo's build server: what it signs verifies with `ceremony verify`'s rules and with GnuPG itself. */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { makeDemoBuildServer } from '../../../ceremony/release/demo-build-server.js';
import { loadTrustedCertificates } from '../../../ceremony/openpgp/verify/certificate.js';
import { verifyReleaseFiles } from '../../../ceremony/release/verify-release.js';

const dir = mkdtempSync(join(tmpdir(), 'demo-bs-'));
afterAll(() => {
  spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg'), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

describe('makeDemoBuildServer', () => {
  it('makes a sample release that verifies, signed by its signing subkey', async () => {
    mkdirSync(join(dir, 'release'));
    writeFileSync(join(dir, 'release', 'flatcar_production_update.gz'), Buffer.alloc(3000, 7));
    const server = await makeDemoBuildServer(join(dir, 'release'), { rsaBits: 2048, alsoSign: ['flatcar_production_update.gz'] });
    expect(server.files.map((f) => basename(f))).toEqual(['version.txt', 'flatcar_production_image.bin', 'flatcar_production_update.gz']);
    const trusted = await loadTrustedCertificates([server.certificate]);
    expect(trusted[0]!.description.subkeys[0]).toMatchObject({ capabilities: ['sign'], state: 'valid' });
    const results = await verifyReleaseFiles(server.files, { trusted, now: new Date() });
    for (const r of results) {
      expect(r, r.reason ?? '').toMatchObject({ status: 'VERIFIED' });
      expect(r.signature).toMatchObject({ primaryFingerprint: server.primaryFingerprint, keyFingerprint: server.signingSubkeyFingerprint });
      expect(r.digestsCheck!.checked).toEqual(['md5', 'sha1', 'sha512']);
    }

    // GnuPG agrees (an independent implementation): import the certificate, verify a signature and a DIGESTS.
    const home = join(dir, 'gnupg');
    mkdirSync(home, { mode: 0o700 });
    const gpg = (...args: string[]) => spawnSync('gpg', ['--homedir', home, '--batch', ...args], { encoding: 'utf8' });
    expect(gpg('--import', server.certificate).status).toBe(0);
    const sig = gpg('--status-fd', '1', '--verify', `${server.files[1]}.sig`, server.files[1]!);
    expect(sig.stdout).toContain(`VALIDSIG ${server.signingSubkeyFingerprint}`);
    const digests = gpg('--status-fd', '1', '--verify', `${server.files[0]}.DIGESTS.asc`);
    expect(digests.stdout).toContain(`VALIDSIG ${server.signingSubkeyFingerprint}`);
  });
});
