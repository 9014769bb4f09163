/**
 * Detached signatures over documents (RFC 4880 §5.2.1 type 0x00, §11.4) made on the HSM: the document
 * is hashed here in one streaming pass (or the caller's running hash is reused), the token signs the
 * digest, and openpgp.js serializes the packet.
 */
import { createHash, type Hash } from 'node:crypto';
import { armor, enums, PacketList, type AnyPacket } from 'openpgp';
import { CeremonyError, isCeremonyError } from '../../errors.js';
import { openRegularFile } from '../../files.js';
import type { DigestSigner } from '../../signer.js';
import { DEFAULT_OPENPGP_HASH, makeSignature, prepareSignaturePacket, type KeyPacket, type OpenpgpHash } from './packets.js';
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

export interface DetachedFromHashOptions {
  signer: DigestSigner;
  /** The OpenPGP key the signer holds (primary or subkey), from its certificate. */
  key: OpenpgpKeyRef | KeyPacket;
  /**
   * A running hash that has seen exactly the document's bytes. It is copied, never finished, so the
   * caller can still take its digest (e.g. to compare with a DIGESTS line).
   */
  hashOfContent: Hash;
  /** The algorithm `hashOfContent` was created with. */
  hash: OpenpgpHash;
  created: Date;
  armor?: boolean;
}

/** A detached binary-document signature from a hash the caller already fed with the document. */
export async function createDetachedSignatureFromHash(o: DetachedFromHashOptions): Promise<DetachedSignature> {
  const key = keyPacketOf(o.key);
  const sig = await makeSignature({ hashed: o.hashOfContent.copy() }, {
    type: enums.signature.binary,
    hash: o.hash,
    created: o.created,
    issuer: key,
    signer: o.signer,
  });
  const list = new PacketList<AnyPacket>();
  list.push(sig);
  return finish(list.write(), o.armor ?? false, o.hash, sig.created!, key);
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
 * large file serves verification and signing). Same packet as createDetachedSignatureFromHash. Only
 * the key packet is needed to fix the fields, so they can be hashed before the HSM login.
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
  const hash = o.hash ?? DEFAULT_OPENPGP_HASH;
  const h = await hashInput(o.input, hash, o.onProgress);
  return createDetachedSignatureFromHash({ signer: o.signer, key: o.key, hashOfContent: h, hash, created: o.created, armor: o.armor });
}

/** Feed a document into a new hash: a path is streamed in 1 MiB chunks. */
export async function hashInput(input: string | Uint8Array, hash: OpenpgpHash, onProgress?: (bytes: number) => void): Promise<Hash> {
  const h = createHash(hash);
  if (typeof input !== 'string') return h.update(input);
  let seen = 0;
  // Opened without blocking and checked on the descriptor (files.ts): a FIFO or device is refused.
  const { fh } = await openRegularFile(input, 'document');
  try {
    for await (const chunk of fh.createReadStream({ highWaterMark: 1 << 20, autoClose: false })) {
      h.update(chunk as Buffer);
      seen += (chunk as Buffer).length;
      onProgress?.(seen);
    }
  } catch (e) {
    throw isCeremonyError(e) ? e : new CeremonyError('INPUT_UNREADABLE', `cannot read ${input}`, { cause: e, details: { path: input } });
  } finally {
    await fh.close();
  }
  return h;
}
