/** The test vectors (test/vectors/digests/): a release file signed by a throwaway GnuPG key. */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadTrustedCertificates } from '../../../ceremony/openpgp/verify/certificate.js';
import { verifyReleaseFiles } from '../../../ceremony/release/verify-release.js';
import { VECTORS } from '../../helpers/cli.js';

const DIR = join(VECTORS, 'digests');
const FILE = join(DIR, 'version.txt');
const now = new Date();

describe('shared digests vectors', () => {
  it('verifies version.txt with its .sig and the clearsigned DIGESTS.asc', async () => {
    const trusted = await loadTrustedCertificates([join(DIR, 'throwaway-test-signing-key.pub.asc')]);
    const [r] = await verifyReleaseFiles([FILE], { trusted, now });
    expect(r).toMatchObject({ status: 'VERIFIED', code: null });
    expect(r!.signature).toMatchObject({ primaryFingerprint: '729B9FB5D60B52844FA9596F6D4669DDE4F32AF5', keyFingerprint: 'D35F7B6B74544566C525D26E3525712573405E7B', hashAlgorithm: 'SHA-512' });
    expect(r!.digestsCheck).toMatchObject({ form: 'clearsigned', checked: ['md5', 'sha1', 'sha512'], ignoredLines: 0 });
    expect(r!.sha512).toBe('6de5272a7edc96f8d07d4daa10bd2b16b07f464f7f8e86bc85167e319a135ed914d978783e98c9df7e3cddf139febccdd93ed280274c99b642e3fbec43e823b8');
  });

  it('verifies version.txt against DIGESTS + DIGESTS.sig (detached)', async () => {
    const trusted = await loadTrustedCertificates([join(DIR, 'throwaway-test-signing-key.pub.asc')]);
    const [r] = await verifyReleaseFiles([FILE], { trusted, now, digests: join(DIR, 'version.txt.DIGESTS'), signature: join(DIR, 'version.txt.sig') });
    expect(r).toMatchObject({ status: 'VERIFIED' });
    expect(r!.digestsCheck).toMatchObject({ form: 'detached', signatureSource: join(DIR, 'version.txt.DIGESTS.sig') });
  });

  it("refuses the vectors under Flatcar's real key: the throwaway signer is not pinned", async () => {
    const trusted = await loadTrustedCertificates([join(VECTORS, 'flatcar-keys/Flatcar_Image_Signing_Key.asc')]);
    const [r] = await verifyReleaseFiles([FILE], { trusted, now });
    expect(r).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_UNTRUSTED' });
  });
});
