/** A DigestSigner backed by a Node private key: a fake for unit tests of logic behind the seam. */
import { createPrivateKey, createPublicKey, privateEncrypt, constants, type KeyObject } from 'node:crypto';
import { digestInfo, type HashAlgorithm } from '../../ceremony/crypto.js';
import type { DigestSigner } from '../../ceremony/signer.js';

export function nodeSigner(privatePem: string | KeyObject, description = 'node test key'): DigestSigner {
  const priv = typeof privatePem === 'string' ? createPrivateKey(privatePem) : privatePem;
  const publicKey = createPublicKey(priv);
  const modulusBits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  return {
    publicKey,
    modulusBits,
    description,
    async signDigest(hash: HashAlgorithm, digest: Uint8Array) {
      return privateEncrypt({ key: priv, padding: constants.RSA_PKCS1_PADDING }, digestInfo(hash, digest));
    },
  } satisfies DigestSigner;
}
