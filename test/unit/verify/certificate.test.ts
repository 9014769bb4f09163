import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadTrustedCertificates } from '../../../ceremony/openpgp/verify/certificate.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { VECTORS } from '../../helpers/cli.js';

const FLATCAR = join(VECTORS, 'flatcar-keys/Flatcar_Image_Signing_Key.asc');

describe('pinned certificate description', () => {
  it("describes Flatcar's image signing key: primary, yearly signing subkeys with validity", async () => {
    const [cert] = await loadTrustedCertificates([FLATCAR], new Date('2026-01-01T00:00:00Z'));
    const d = cert!.description;
    expect(d.fingerprint).toBe('F88CFEDEFF29A5B4D9523864E25D9AED0593B34A');
    // gpg --show-keys says [SC]: the primary may certify and sign; the subkeys sign.
    expect(d.primary.capabilities).toEqual(['certify', 'sign']);
    expect(d.userIDs).toEqual(['Flatcar Buildbot (Official Builds) <buildbot@flatcar-linux.org>']);
    expect(d.userIDs.length).toBeGreaterThan(0);
    const current = d.subkeys.find((s) => s.fingerprint === '52F145DFD00BBDCD928CBB5A32DA80F91EF52974');
    expect(current).toMatchObject({ capabilities: ['sign'], state: 'valid', bits: 4096 });
    expect(current!.expires!.toISOString().slice(0, 10)).toBe('2027-03-08');
    expect(d.subkeys.some((s) => s.state === 'expired')).toBe(true);
    // the 2018 subkeys were revoked (gpg: [revoked: 2018-03-14])
    expect(d.subkeys[0]!.state).toBe('revoked');
  });

  it('refuses a garbage certificate as CERTIFICATE_MALFORMED', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cert-'));
    try {
      const p = join(dir, 'garbage.asc');
      writeFileSync(p, '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n');
      await expect(loadTrustedCertificates([p])).rejects.toSatisfy((e: unknown) => isCeremonyError(e, 'CERTIFICATE_MALFORMED'));
      writeFileSync(p, Buffer.from([1, 2, 3, 4, 5]));
      await expect(loadTrustedCertificates([p])).rejects.toSatisfy((e: unknown) => isCeremonyError(e, 'CERTIFICATE_MALFORMED'));
      await expect(loadTrustedCertificates([join(dir, 'absent.asc')])).rejects.toSatisfy((e: unknown) => isCeremonyError(e, 'INPUT_UNREADABLE'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
