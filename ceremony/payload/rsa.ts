/**
 * update_engine's signature check (payload_signer.cc GetRawHashFromSignature): RSA public-key
 * "verify-recover" with PKCS#1 v1.5 padding and a SHA-256 DigestInfo, then the recovered hash is compared
 * with the hash of the signed bytes. Node's publicDecrypt with RSA_PKCS1_PADDING is the same
 * operation (it returns DigestInfo ‖ hash), so we compare against digestInfo('sha256', hash).
 */
import { constants, publicDecrypt, type KeyObject } from 'node:crypto';
import { constantTimeEqual, digestInfo } from '../crypto.js';

export function signatureMatchesDigest(publicKey: KeyObject, signature: Uint8Array, sha256: Uint8Array): boolean {
  if (publicKey.asymmetricKeyType !== 'rsa') return false;
  const bytes = (publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
  // update_engine (payload_verifier.cc GetRawHashFromSignature) hands the signature to OpenSSL's RSA
  // public decrypt, which with OpenSSL 3 refuses one whose length is not exactly the modulus length
  // (RFC 8017 §8.2.2 step 1). Node's publicDecrypt accepts a shorter one (a 255-byte signature for a
  // 2048-bit key, read as a big-endian number), so the length is checked here first.
  if (bytes === 0 || signature.length !== bytes) return false;
  let recovered: Buffer;
  try {
    recovered = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
  return constantTimeEqual(recovered, digestInfo('sha256', sha256));
}
