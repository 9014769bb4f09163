/**
 * Node's crypto, wrapped once. Everything in the core that hashes, compares or builds a PKCS#1
 * DigestInfo comes through here.
 */
import { createHash, timingSafeEqual, type Hash, type KeyObject } from 'node:crypto';

export type HashAlgorithm = 'sha256' | 'sha384' | 'sha512';

/**
 * DER prefixes of the PKCS#1 v1.5 DigestInfo (RFC 8017 §9.2, note 1). The token signs
 * prefix ‖ digest with CKM_RSA_PKCS, so hashing stays on the host (real HSMs hash bulk data slowly).
 */
const DIGEST_INFO_PREFIX: Record<HashAlgorithm, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

export const DIGEST_LENGTH: Record<HashAlgorithm, number> = { sha256: 32, sha384: 48, sha512: 64 };

export function digestInfo(hash: HashAlgorithm, digest: Uint8Array): Buffer {
  if (digest.length !== DIGEST_LENGTH[hash]) {
    throw new RangeError(`a ${hash} digest is ${DIGEST_LENGTH[hash]} bytes, got ${digest.length}`);
  }
  return Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]);
}

export function hashBytes(hash: HashAlgorithm | 'sha1' | 'md5', data: Uint8Array): Buffer {
  return createHash(hash).update(data).digest();
}

export function newHash(hash: string): Hash {
  return createHash(hash);
}

/**
 * A public key's identity where its format has no key ID (update_engine payload keys, DSSE keys): the
 * SHA-256 of its DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), lower-case hex. Records print a payload
 * key's upper-case, as OpenPGP fingerprints are; compare them with `.toLowerCase()`.
 */
export function spkiSha256Hex(key: KeyObject): string {
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** The same, for a DER SubjectPublicKeyInfo as stored (e.g. base64 in a backup file). */
export function spkiDerSha256Hex(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Overwrite a secret buffer in place. */
export function wipe(...buffers: (Uint8Array | undefined | null)[]): void {
  for (const b of buffers) b?.fill(0);
}
