/**
 * OpenPGP v4 packets for keys whose private half never leaves an HSM: openpgp.js's packet classes hold
 * and serialize the fields, but the hash is computed here (RFC 4880 §5.2.4) and the signature comes from
 * a DigestSigner, so no secret key packet ever exists.
 */
import { createHash, publicDecrypt, constants, type KeyObject } from 'node:crypto';
import { enums, PublicKeyPacket, PublicSubkeyPacket, SignaturePacket, UserIDPacket } from 'openpgp';
import { constantTimeEqual, digestInfo } from '../../crypto.js';
import { CeremonyError } from '../../errors.js';
import type { DigestSigner } from '../../signer.js';

/**
 * Hashes we sign with. SHA-512 is the default: it matches the strength of RSA-4096 keys, and the
 * sign-update ceremony already computes SHA-512 of every release file for Flatcar's DIGESTS check, so
 * a copy of that hash state gives the OpenPGP signature without reading the file again.
 */
export type OpenpgpHash = 'sha256' | 'sha512';
export const DEFAULT_OPENPGP_HASH: OpenpgpHash = 'sha512';

const HASH_ID: Record<OpenpgpHash, number> = { sha256: enums.hash.sha256, sha512: enums.hash.sha512 };

/** RFC 4880 §9.1: "RSA (Encrypt or Sign)", what GnuPG writes for RSA keys. */
const RSA_ALGORITHM = enums.publicKey.rsaEncryptSign;

export type KeyPacket = PublicKeyPacket | PublicSubkeyPacket;

/** Fields openpgp.js sets at runtime but its type definitions leave out (src/packet/signature.js). */
interface SignatureInternals {
  params: { s: Uint8Array } | null;
  signatureData: Uint8Array | null;
  writeHashedSubPackets(): Uint8Array;
}

export function internals(sig: SignaturePacket): SignaturePacket & SignatureInternals {
  return sig as SignaturePacket & SignatureInternals;
}

interface KeyPacketInternals {
  publicParams: { n: Uint8Array; e: Uint8Array };
  computeFingerprintAndKeyID(): Promise<void>;
}

/** OpenPGP times are whole seconds (RFC 4880 §3.5); keep Dates on that grid so a rebuild is identical. */
export function toOpenpgpTime(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

function rsaParams(key: KeyObject): { n: Uint8Array; e: Uint8Array } {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty !== 'RSA' || !jwk.n || !jwk.e) throw new CeremonyError('KEY_UNSUITABLE', 'an OpenPGP key must be an RSA key');
  return { n: Buffer.from(jwk.n, 'base64url'), e: Buffer.from(jwk.e, 'base64url') };
}

/**
 * A v4 RSA key packet (RFC 4880 §5.5.2) for a public key. The fingerprint covers the creation time,
 * so the same key and the same time always give the same fingerprint.
 */
export async function rsaKeyPacket<T extends KeyPacket>(
  Kind: new (date?: Date) => T,
  publicKey: KeyObject,
  created: Date,
): Promise<T> {
  const p = new Kind(toOpenpgpTime(created));
  const raw = p as unknown as T & KeyPacketInternals;
  raw.version = 4;
  raw.algorithm = RSA_ALGORITHM;
  raw.publicParams = rsaParams(publicKey);
  await raw.computeFingerprintAndKeyID();
  return p;
}

export const primaryKeyPacket = (publicKey: KeyObject, created: Date) => rsaKeyPacket(PublicKeyPacket, publicKey, created);
export const subkeyPacket = (publicKey: KeyObject, created: Date) => rsaKeyPacket(PublicSubkeyPacket, publicKey, created);

export function fingerprintHex(p: KeyPacket): string {
  return p.getFingerprint().toUpperCase();
}

export function keyIdHex(p: KeyPacket): string {
  return p.getKeyID().toHex().toUpperCase();
}

export function keyIdBytes(p: KeyPacket): Buffer {
  return Buffer.from(p.getKeyID().toHex(), 'hex');
}

/** Whether a key packet carries this RSA public key (modulus and exponent, leading zeros ignored). */
export function keyPacketHolds(p: KeyPacket, publicKey: KeyObject): boolean {
  const mine = rsaParams(publicKey);
  const theirs = (p as unknown as KeyPacketInternals).publicParams;
  const strip = (b: Uint8Array) => {
    const buf = Buffer.from(b);
    const i = buf.findIndex((x) => x !== 0);
    return i < 0 ? Buffer.alloc(0) : buf.subarray(i);
  };
  return strip(mine.n).equals(strip(theirs.n)) && strip(mine.e).equals(strip(theirs.e));
}

/** Refuse to sign for a key packet with a different key: the signature would never verify. */
export function assertSignerMatches(signer: DigestSigner, p: KeyPacket): void {
  if (!keyPacketHolds(p, signer.publicKey)) {
    throw new CeremonyError('KEY_UNSUITABLE', `the HSM key ${signer.description} is not OpenPGP key ${keyIdHex(p)}`);
  }
}

/** RFC 4880 §5.2.4: a key is hashed as 0x99, a two-octet length and the key packet body. */
export function keyFraming(p: KeyPacket): Buffer {
  const body = p.write();
  const head = Buffer.alloc(3);
  head[0] = 0x99;
  head.writeUInt16BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** RFC 4880 §5.2.4: a user ID is hashed as 0xB4, a four-octet length and the UTF-8 text. */
export function userIdFraming(u: UserIDPacket): Buffer {
  const body = u.write();
  const head = Buffer.alloc(5);
  head[0] = 0xb4;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** A signature's fields: everything but the key that will sign it. */
export interface SignatureFields {
  type: enums.signature;
  hash: OpenpgpHash;
  created: Date;
  /** The key packet that makes the signature (its issuer fields come from it). */
  issuer: KeyPacket;
  /** Set the hashed subpackets specific to this signature type (key flags, expiry, embedded signature...). */
  subpackets?: (sig: SignaturePacket) => void;
}

export interface SignOptions extends SignatureFields {
  /** The HSM key behind `issuer`. */
  signer: DigestSigner;
}

/**
 * Make one v4 signature packet on the HSM: fill the hashed subpackets (creation time, issuer key ID and
 * issuer fingerprint, RFC 4880 §5.2.3.4/§5.2.3.5, RFC 9580 §5.2.3.35), hash prefix ‖ signature fields ‖
 * trailer (RFC 4880 §5.2.4: 0x04 0xFF and the four-octet length of the hashed fields), sign the digest,
 * and check the result against the issuer's public key before anyone sees it.
 */
export async function makeSignature(prefix: Uint8Array, o: SignOptions): Promise<SignaturePacket> {
  assertSignerMatches(o.signer, o.issuer);
  const prepared = prepareSignaturePacket(o);
  return prepared.finish(createHash(o.hash).update(prefix).update(prepared.suffix).digest(), o.signer);
}

/** A signature whose fields are fixed and whose digest is still to be computed by the caller. */
export interface PreparedSignaturePacket {
  /** What follows the signed data in the hash (RFC 4880 §5.2.4): hashed fields ‖ 0x04 0xFF ‖ length. */
  suffix: Buffer;
  hash: OpenpgpHash;
  /**
   * Sign the digest of data ‖ suffix with `signer` (which must hold the issuer key), check it, and return
   * a new packet: one preparation serves any number of documents signed with the same fields.
   */
  finish(digest: Buffer, signer: DigestSigner): Promise<SignaturePacket>;
}

/**
 * The first half of makeSignature: fix every hashed field so the caller can hash the data ‖ suffix in
 * a pass it runs anyway (the sign-update ceremony hashes each release file once for verification and
 * for its own signature). Fields as in makeSignature.
 */
export function prepareSignaturePacket(o: SignatureFields): PreparedSignaturePacket {
  if (toOpenpgpTime(o.created) < o.issuer.getCreationTime()) {
    // GnuPG rejects a signature older than its key ("key created N seconds in the future").
    throw new CeremonyError('USAGE', `a signature cannot be dated before its key ${keyIdHex(o.issuer)} was created (${o.issuer.getCreationTime().toISOString()})`);
  }
  const { data } = signatureFields(o);
  const trailer = Buffer.alloc(6);
  trailer[0] = 4;
  trailer[1] = 0xff;
  trailer.writeUInt32BE(data.length, 2);
  return {
    suffix: Buffer.concat([data, trailer]),
    hash: o.hash,
    async finish(digest: Buffer, signer: DigestSigner) {
      // The signer arrives only now (the sign-update ceremony fixes the fields before the HSM login):
      // it must hold the very key the fields name.
      assertSignerMatches(signer, o.issuer);
      // A packet of its own, with the fields that were hashed (checked before the token signs, not
      // assumed: `subpackets` is the caller's code).
      const { sig, data: again } = signatureFields(o);
      if (!again.equals(data)) throw new CeremonyError('INTERNAL', 'the signature fields changed between hashing and signing');
      const s = await signer.signDigest(o.hash, digest);
      assertRsaSignature(signer.publicKey, o.hash, digest, s, signer.description);
      sig.signedHashValue = digest.subarray(0, 2);
      sig.params = { s };
      sig.unhashedSubpackets = [];
      return sig;
    },
  };
}

/** A v4 signature packet with its hashed fields set (RFC 4880 §5.2.3), not yet signed. */
function signatureFields(o: SignatureFields): { sig: ReturnType<typeof internals>; data: Buffer } {
  const sig = internals(new SignaturePacket());
  sig.version = 4;
  sig.signatureType = o.type;
  sig.publicKeyAlgorithm = RSA_ALGORITHM;
  sig.hashAlgorithm = HASH_ID[o.hash];
  sig.created = toOpenpgpTime(o.created);
  sig.issuerKeyVersion = 4;
  sig.issuerFingerprint = o.issuer.getFingerprintBytes();
  sig.issuerKeyID = o.issuer.getKeyID();
  o.subpackets?.(sig);
  const data = Buffer.concat([Buffer.from([4, o.type, RSA_ALGORITHM, HASH_ID[o.hash]]), sig.writeHashedSubPackets()]);
  sig.signatureData = data;
  return { sig, data };
}

/**
 * RSA PKCS#1 v1.5 check of one signature with Node's crypto (RFC 8017 §8.2.2): recover the encoded
 * DigestInfo with the public key and compare. Catches a token that signed with another key or garbled
 * its output before a broken signature is written anywhere.
 */
export function assertRsaSignature(publicKey: KeyObject, hash: OpenpgpHash, digest: Uint8Array, s: Uint8Array, who: string): void {
  let recovered: Buffer;
  try {
    const bytes = (publicKey.asymmetricKeyDetails?.modulusLength ?? s.length * 8) / 8;
    const padded = Buffer.alloc(Math.max(bytes, s.length));
    Buffer.from(s).copy(padded, padded.length - s.length);
    recovered = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, padded);
  } catch (e) {
    throw new CeremonyError('SELF_CHECK_FAILED', `the signature made by ${who} does not verify with its public key`, { cause: e });
  }
  if (!constantTimeEqual(recovered, digestInfo(hash, digest))) {
    throw new CeremonyError('SELF_CHECK_FAILED', `the signature made by ${who} does not verify with its public key`);
  }
}
