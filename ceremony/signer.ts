/**
 * The seam between the ceremonies and whatever holds a private key. The PKCS#11 adapter implements it
 * with a token key; unit tests implement it with a Node KeyObject (`satisfies DigestSigner`).
 */
import type { KeyObject } from 'node:crypto';
import type { HashAlgorithm } from './crypto.js';

export interface DigestSigner {
  /** RSA PKCS#1 v1.5 signature over DigestInfo(hash, digest): the caller hashes, the key only signs. */
  signDigest(hash: HashAlgorithm, digest: Uint8Array): Promise<Buffer>;
  /** The public half, for building certificates and for verifying our own output independently. */
  readonly publicKey: KeyObject;
  /** Modulus size in bits (2048 → 256-byte signatures). */
  readonly modulusBits: number;
  /** A human-readable name of the key for logs and messages (e.g. its PKCS#11 URI). */
  readonly description: string;
}
