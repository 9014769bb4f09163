/**
 * Detached signatures over documents (RFC 4880 §5.2.1 type 0x00, §11.4) made on the HSM: the fields are
 * fixed first, the document ‖ those fields hashed (here, or in the caller's own pass over a large file),
 * the token signs the digest, and openpgp.js serializes the packet.
 */
import { createHash } from 'node:crypto';
import { armor, enums, PacketList, type AnyPacket } from 'openpgp';
import { hashFileOnce } from '../../hash-pass.js';
import type { DigestSigner } from '../../signer.js';
import { DEFAULT_OPENPGP_HASH, prepareSignaturePacket, type KeyPacket, type OpenpgpHash } from './packets.js';
import type { OpenpgpKeyRef } from './certificate.js';

export interface DetachedSignature {
  /** Binary `.sig`, or armored `.asc` text, as asked. */
  output: Uint8Array | string;
  /** The binary signature packet, whatever the output form (for self-checks and records). */
  binary: Uint8Array;
  hash: OpenpgpHash;
  created: Date;
  issuerFingerprint: string;
}

function keyPacketOf(key: OpenpgpKeyRef | KeyPacket): KeyPacket {
  return 'packet' in key ? key.packet : key;
}

function finish(sigBinary: Uint8Array, armored: boolean, hash: OpenpgpHash, created: Date, key: KeyPacket): DetachedSignature {
  return {
    // The CRC-24 line is kept: GnuPG 2.2 fails on some armored blocks without it (dev.gnupg.org/T7071).
    output: armored ? armor(enums.armor.signature, sigBinary, undefined, undefined, undefined, true) : sigBinary,
    binary: sigBinary,
    hash,
    created,
    issuerFingerprint: key.getFingerprint().toUpperCase(),
  };
}

export interface PreparedDetachedSignature {
  hash: OpenpgpHash;
  /** Bytes to hash after the document (hashed fields and trailer, RFC 4880 §5.2.4). */
  suffix: Buffer;
  /**
   * Sign digest(document ‖ suffix) with `signer`, the HSM key behind the prepared key, and assemble the
   * detached signature. One preparation serves every document signed with the same key and time.
   */
  finish(digest: Buffer, signer: DigestSigner): Promise<DetachedSignature>;
}

/**
 * A detached signature whose document hash the caller computes in a pass of its own (one read of a
 * large file serves verification and signing). Only the key packet is needed to fix the fields, so they
 * can be hashed before the HSM login.
 */
export function prepareDetachedSignature(o: { key: OpenpgpKeyRef | KeyPacket; hash?: OpenpgpHash; created: Date; armor?: boolean }): PreparedDetachedSignature {
  const key = keyPacketOf(o.key);
  const hash = o.hash ?? DEFAULT_OPENPGP_HASH;
  const prepared = prepareSignaturePacket({ type: enums.signature.binary, hash, created: o.created, issuer: key });
  return {
    hash,
    suffix: prepared.suffix,
    async finish(digest: Buffer, signer: DigestSigner) {
      const sig = await prepared.finish(digest, signer);
      const list = new PacketList<AnyPacket>();
      list.push(sig);
      return finish(list.write(), o.armor ?? false, hash, sig.created!, key);
    },
  };
}

export interface DetachedOptions {
  signer: DigestSigner;
  key: OpenpgpKeyRef | KeyPacket;
  /** A file path (read in one streaming pass, never whole in memory) or the bytes themselves. */
  input: string | Uint8Array;
  created: Date;
  armor?: boolean;
  hash?: OpenpgpHash;
  onProgress?: (bytes: number) => void;
}

/** A detached signature over a file or a buffer. */
export async function createDetachedSignature(o: DetachedOptions): Promise<DetachedSignature> {
  const prepared = prepareDetachedSignature({ key: o.key, hash: o.hash, created: o.created, armor: o.armor });
  return prepared.finish(await digestWithSuffix(o.input, prepared.hash, prepared.suffix, o.onProgress), o.signer);
}

/**
 * The digest of document ‖ suffix (the signature's hashed fields and trailer, RFC 4880 §5.2.4): a path
 * is read once by the core's file hasher (hash-pass.ts: a regular file only, checked on its descriptor),
 * bytes are hashed as they are.
 */
export async function digestWithSuffix(input: string | Uint8Array, hash: OpenpgpHash, suffix: Uint8Array, onProgress?: (bytes: number) => void): Promise<Buffer> {
  if (typeof input !== 'string') return createHash(hash).update(input).update(suffix).digest();
  const pass = await hashFileOnce(input, { what: 'document', algorithms: [hash], trailers: [{ algorithm: hash, trailer: suffix }], onProgress: onProgress && ((n) => onProgress(n)) });
  return pass.trailed[0]!;
}
