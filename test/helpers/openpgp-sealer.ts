/**
 * A RecordSealer made with openpgp.js and a throwaway key: the fake behind the seal seam for tests of
 * the audit record (the ceremonies seal with an HSM key). The seal it makes is a real OpenPGP detached
 * signature that GnuPG verifies.
 */
import * as openpgp from 'openpgp';
import type { RecordSealer } from '../../ceremony/audit/seal.js';

export interface TestSealer extends RecordSealer {
  privateKey: openpgp.PrivateKey;
}

export async function makeOpenpgpSealer(name = 'Test Record Seal'): Promise<TestSealer> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name, email: 'seal@example.org' }],
    format: 'armored',
  });
  const key = await openpgp.readPrivateKey({ armoredKey: privateKey });
  return {
    privateKey: key,
    certificateArmored: publicKey,
    fingerprint: key.getFingerprint().toUpperCase(),
    description: `test key ${key.getKeyID().toHex().toUpperCase()} (openpgp.js)`,
    async sign(data: Buffer): Promise<string> {
      const message = await openpgp.createMessage({ binary: data });
      return (await openpgp.sign({ message, signingKeys: key, detached: true, format: 'armored' })) as string;
    },
  } satisfies TestSealer;
}
