/**
 * The hashed subpacket area of a v4 signature, read from the bytes the signature covers (RFC 4880 §5.2.3). openpgp.js
 * folds the hashed and unhashed areas into one set of fields, the unhashed value winning; where it matters who
 * said what (the issuer, the designated revokers), the rules read the hashed area here, because only it is signed.
 */
import type * as openpgp from 'openpgp';

export interface Subpacket {
  type: number;
  critical: boolean;
  body: Uint8Array;
}

/** RFC 4880 §5.2.3.2 subpacket types used here. */
export const SUBPACKET = { issuerKeyID: 16, revocationKey: 12, issuerFingerprint: 33 } as const;

/** RFC 4880 §5.2.3.1: a subpacket length is one, two or five octets. */
function readLength(b: Uint8Array, pos: number): { length: number; size: number } | null {
  const first = b[pos];
  if (first === undefined) return null;
  if (first < 192) return { length: first, size: 1 };
  if (first < 255) {
    const second = b[pos + 1];
    return second === undefined ? null : { length: ((first - 192) << 8) + second + 192, size: 2 };
  }
  if (pos + 5 > b.length) return null;
  return { length: ((b[pos + 1]! << 24) | (b[pos + 2]! << 16) | (b[pos + 3]! << 8) | b[pos + 4]!) >>> 0, size: 5 };
}

/** Split a subpacket area into subpackets; a truncated area yields what could be read (openpgp.js refuses it anyway). */
export function splitSubpackets(area: Uint8Array): Subpacket[] {
  const out: Subpacket[] = [];
  let pos = 0;
  while (pos < area.length) {
    const len = readLength(area, pos);
    if (!len || len.length === 0 || pos + len.size + len.length > area.length) break;
    const start = pos + len.size;
    out.push({ type: area[start]! & 0x7f, critical: (area[start]! & 0x80) !== 0, body: area.subarray(start + 1, start + len.length) });
    pos = start + len.length;
  }
  return out;
}

/** The hashed subpackets of a v4 signature: signatureData is version, type, algorithms, then the 2-octet area length. */
export function hashedSubpackets(packet: openpgp.SignaturePacket): Subpacket[] {
  const data = packet.signatureData;
  if (!data || data[0] !== 4 || data.length < 6) return [];
  const length = (data[4]! << 8) | data[5]!;
  return splitSubpackets(data.subarray(6, 6 + length));
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex').toUpperCase();
}

export interface IssuerClaim {
  /** True when the issuer comes from the hashed area: the signature vouches for it. */
  hashed: boolean;
  /** Uppercase hex v4 fingerprints claimed. */
  fingerprints: string[];
  /** Uppercase hex key IDs claimed. */
  keyIDs: string[];
}

/** RFC 4880 §5.2.3.28 (Issuer Fingerprint, v4: version octet 4 then 20 octets). */
function fingerprintOf(s: Subpacket): string | null {
  return s.body.length === 21 && s.body[0] === 4 ? hex(s.body.subarray(1)) : null;
}

/**
 * Who the signature says made it. The hashed Issuer Fingerprint and Issuer (§5.2.3.5) are signed, so when present
 * they are the only claim: an unhashed issuer, which anyone can add or change without breaking the signature, is
 * then ignored. Without a hashed claim, every unhashed hint is a candidate and the cryptographic check decides.
 */
export function issuerClaim(packet: openpgp.SignaturePacket): IssuerClaim {
  const collect = (subpackets: readonly Subpacket[]) => ({
    fingerprints: subpackets.filter((s) => s.type === SUBPACKET.issuerFingerprint).flatMap((s) => fingerprintOf(s) ?? []),
    keyIDs: subpackets.filter((s) => s.type === SUBPACKET.issuerKeyID && s.body.length === 8).map((s) => hex(s.body)),
  });
  const signed = collect(hashedSubpackets(packet));
  if (signed.fingerprints.length > 0 || signed.keyIDs.length > 0) return { hashed: true, ...signed };
  const unsigned = collect(packet.unhashedSubpackets ?? []);
  return { hashed: false, ...unsigned };
}

export interface RevocationKey {
  /** Class octet: 0x80 always set, 0x40 "sensitive". */
  class: number;
  algorithm: number;
  /** Uppercase hex v4 fingerprint of the designated revoker's key. */
  fingerprint: string;
}

/**
 * RFC 4880 §5.2.3.15 Revocation Key subpackets in the hashed area (a signature may name several; openpgp.js keeps
 * only the last one it reads).
 */
export function revocationKeys(packet: openpgp.SignaturePacket): RevocationKey[] {
  return hashedSubpackets(packet)
    .filter((s) => s.type === SUBPACKET.revocationKey && s.body.length === 22 && (s.body[0]! & 0x80) !== 0)
    .map((s) => ({ class: s.body[0]!, algorithm: s.body[1]!, fingerprint: hex(s.body.subarray(2)) }));
}
