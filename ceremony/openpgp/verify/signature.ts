/**
 * Detached OpenPGP signatures (`FILE.sig` binary, `FILE.asc` armored) parsed at the edge into one v4
 * signature packet, and the hash they sign computed the way RFC 4880 §5.2.4 says: the hash of the signed
 * data, continued with the signature's hashed part and its trailer. The data part comes from outside (the
 * release pipeline reads each file once and hands over a hash state), so a large file is never read twice.
 */
import * as openpgp from 'openpgp';
import type { Hash } from 'node:crypto';
import { CeremonyError } from '../../errors.js';

/** A detached signature is a few hundred bytes; anything this large is not one. */
export const MAX_SIGNATURE_BYTES = 64 * 1024;

/** Node (OpenSSL) names of the hash algorithms a signature may use: SHA-256 or stronger (RFC 9580 §9.5). */
const STRONG_HASHES = new Map<number, string>([
  [openpgp.enums.hash.sha256, 'sha256'],
  [openpgp.enums.hash.sha384, 'sha384'],
  [openpgp.enums.hash.sha512, 'sha512'],
  [openpgp.enums.hash.sha3_256, 'sha3-256'],
  [openpgp.enums.hash.sha3_512, 'sha3-512'],
]);

/** RFC 4880 §9.4 names, for refusals people can read. */
const HASH_NAMES: Record<number, string> = {
  1: 'MD5',
  2: 'SHA-1',
  3: 'RIPEMD-160',
  8: 'SHA-256',
  9: 'SHA-384',
  10: 'SHA-512',
  11: 'SHA-224',
  12: 'SHA3-256',
  14: 'SHA3-512',
};

export function hashDisplayName(id: number | null): string {
  return id === null ? 'unknown' : (HASH_NAMES[id] ?? `hash algorithm ${id}`);
}

/** The Node hash name for a signature's algorithm, or null when the algorithm is weak or unknown. */
export function strongHashName(id: number | null): string | null {
  return id === null ? null : (STRONG_HASHES.get(id) ?? null);
}

export interface DetachedSignature {
  /** Where it came from, for messages. */
  source: string;
  packet: openpgp.SignaturePacket;
}

/**
 * Parse a detached signature file: armored or binary, exactly one v4 signature packet. Empty files, garbage,
 * and several signatures in one file are SIGNATURE_MALFORMED (exit 2): the input is not a signature at all.
 */
export async function parseDetachedSignature(bytes: Uint8Array, source: string): Promise<DetachedSignature> {
  if (bytes.length === 0) throw new CeremonyError('SIGNATURE_MALFORMED', `the signature file ${source} is empty`);
  if (bytes.length > MAX_SIGNATURE_BYTES) {
    throw new CeremonyError('SIGNATURE_MALFORMED', `the signature file ${source} is larger than ${MAX_SIGNATURE_BYTES} bytes`);
  }
  let sig: openpgp.Signature;
  try {
    const head = Buffer.from(bytes.subarray(0, 200)).toString('latin1');
    sig = head.includes('-----BEGIN PGP SIGNATURE-----')
      ? await openpgp.readSignature({ armoredSignature: Buffer.from(bytes).toString('utf8') })
      : await openpgp.readSignature({ binarySignature: bytes });
  } catch (e) {
    throw new CeremonyError('SIGNATURE_MALFORMED', `${source} is not an OpenPGP signature`, { cause: e });
  }
  const packets = [...sig.packets].filter((p) => p instanceof openpgp.SignaturePacket);
  if (packets.length !== 1) {
    throw new CeremonyError('SIGNATURE_MALFORMED', `${source} holds ${packets.length} signatures; exactly one detached signature is expected`);
  }
  const packet = packets[0]!;
  if (packet.version !== 4) {
    throw new CeremonyError('SIGNATURE_MALFORMED', `${source} is a version ${packet.version} signature; GnuPG 2.2 build servers make version 4`);
  }
  if (!packet.created || !packet.signatureData) {
    throw new CeremonyError('SIGNATURE_MALFORMED', `${source} has no signature creation time`);
  }
  return { source, packet };
}

/**
 * RFC 4880 §5.2.4: after the signed data, a v4 signature hashes its own hashed part (version through hashed
 * subpackets, kept by openpgp.js as `signatureData`) and then the trailer 0x04 0xFF ‖ that length (4 octets).
 */
export function signatureTrailer(packet: openpgp.SignaturePacket): Buffer {
  const hashed = Buffer.from(packet.signatureData!);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(hashed.length);
  return Buffer.concat([hashed, Buffer.from([0x04, 0xff]), len]);
}

/** Finish a signature's digest from the hash state of its data, leaving that state usable for other trailers. */
export function finishSignatureDigest(dataState: Hash, packet: openpgp.SignaturePacket): Buffer {
  return dataState.copy().update(signatureTrailer(packet)).digest();
}
