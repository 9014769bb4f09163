/**
 * OpenPGP v4 certificates (transferable public keys, RFC 4880 §11.1) for HSM keys: a primary key with
 * one user ID and its positive self-certification, then signing subkeys, each with a subkey binding
 * signature by the primary and a primary-key binding back-signature by the subkey. Every signature is
 * made through a DigestSigner; the certificate is plain packets, so it can be stored and re-exported
 * byte for byte.
 */
import { armor, enums, PacketList, PublicKeyPacket, PublicSubkeyPacket, SignaturePacket, UserIDPacket, type AnyPacket } from 'openpgp';
import { CeremonyError } from '../../errors.js';
import type { DigestSigner } from '../../signer.js';
import {
  DEFAULT_OPENPGP_HASH,
  fingerprintHex,
  keyFraming,
  keyIdHex,
  makeSignature,
  primaryKeyPacket,
  subkeyPacket,
  toOpenpgpTime,
  userIdFraming,
  type KeyPacket,
  type OpenpgpHash,
} from './packets.js';

/** A certificate larger than this is not one of ours (a key with a few dozen subkeys is ~50 KiB). */
export const MAX_CERTIFICATE_BYTES = 1 << 20;

/** RFC 4880 §5.2.3.21 key flags. */
const FLAG_CERTIFY = 0x01;
const FLAG_SIGN = 0x02;

/**
 * 'certify': the root key of DESIGN §2, which only certifies subkeys. 'certify+sign': a standalone
 * signing key (and the fallback for a root key that must make data signatures, see the README).
 */
export type PrimaryKeyFlags = 'certify' | 'certify+sign';

export interface OpenpgpKeyRef {
  role: 'primary' | 'subkey';
  /** 40 upper-case hex digits. */
  fingerprint: string;
  /** 16 upper-case hex digits: the low 64 bits of the fingerprint (RFC 4880 §12.2). */
  keyId: string;
  created: Date;
  packet: KeyPacket;
}

export interface BuiltCertificate {
  /** The binary certificate (what is stored on the token; armor with exportCertificate). */
  certificate: Uint8Array;
  key: OpenpgpKeyRef;
}

function refOf(packet: KeyPacket): OpenpgpKeyRef {
  return {
    role: packet instanceof PublicSubkeyPacket ? 'subkey' : 'primary',
    fingerprint: fingerprintHex(packet),
    keyId: keyIdHex(packet),
    created: packet.getCreationTime(),
    packet,
  };
}

function expirySeconds(created: Date, expires: Date | undefined, what: string): number | null {
  if (expires === undefined) return null;
  const seconds = Math.floor((toOpenpgpTime(expires).getTime() - toOpenpgpTime(created).getTime()) / 1000);
  if (seconds <= 0) throw new CeremonyError('USAGE', `the ${what} would expire before it was created`);
  return seconds;
}

/**
 * Preferences GnuPG reads from the self-signature (RFC 4880 §5.2.3.7–9, §5.2.3.24): only what an
 * HSM signing key needs to state. The hash preference puts SHA-512 first, the hash we sign with.
 */
function selfSignaturePreferences(sig: SignaturePacket): void {
  sig.preferredHashAlgorithms = [enums.hash.sha512, enums.hash.sha256];
  sig.preferredSymmetricAlgorithms = [enums.symmetric.aes256, enums.symmetric.aes128];
  sig.preferredCompressionAlgorithms = [enums.compression.uncompressed];
  sig.features = Uint8Array.from([0x01]); // modification detection (SEIPD v1)
}

export interface PrimaryCertificateOptions {
  primary: DigestSigner;
  /** The key's OpenPGP creation time: part of the fingerprint, so keep it (the certificate stores it). */
  created: Date;
  /** "Name <email>" (RFC 4880 §5.11). */
  userId: string;
  keyFlags: PrimaryKeyFlags;
  /** When the primary key expires; none = never. */
  expires?: Date;
  /** Time of the self-certification; defaults to `created`. */
  now?: Date;
  hash?: OpenpgpHash;
}

/** A user ID we accept (RFC 4880 §5.11: UTF-8 text; by convention "Name <email>"): one line, 1–1024 characters. */
export function checkUserId(userId: string): string {
  const uid = userId.trim();
  if (!uid || uid.length > 1024 || /[\r\n\0]/.test(uid)) throw new CeremonyError('USAGE', 'the OpenPGP user ID must be one line of 1 to 1024 characters, e.g. "Name <email>"');
  return uid;
}

/** Primary key packet + user ID + positive self-certification (0x13), signed on the HSM. */
export async function buildPrimaryCertificate(o: PrimaryCertificateOptions): Promise<BuiltCertificate> {
  const uid = checkUserId(o.userId);
  const key = await primaryKeyPacket(o.primary.publicKey, o.created);
  const userId = new UserIDPacket();
  userId.read(Buffer.from(uid, 'utf8')); // keeps the text exactly as given (RFC 4880 §5.11: any UTF-8)
  const keyExpiration = expirySeconds(o.created, o.expires, 'primary key');
  const selfSig = await makeSignature(Buffer.concat([keyFraming(key), userIdFraming(userId)]), {
    type: enums.signature.certPositive,
    hash: o.hash ?? DEFAULT_OPENPGP_HASH,
    created: o.now ?? o.created,
    issuer: key,
    signer: o.primary,
    subpackets: (sig) => {
      sig.keyFlags = Uint8Array.from([o.keyFlags === 'certify' ? FLAG_CERTIFY : FLAG_CERTIFY | FLAG_SIGN]);
      sig.isPrimaryUserID = true;
      if (keyExpiration !== null) sig.keyExpirationTime = keyExpiration;
      selfSignaturePreferences(sig);
    },
  });
  const list = new PacketList<AnyPacket>();
  list.push(key, userId, selfSig);
  return { certificate: list.write(), key: refOf(key) };
}

export interface SigningSubkeyOptions {
  /** The primary (root) key: makes the subkey binding signature. */
  primary: DigestSigner;
  /** The new subkey: makes the back-signature (it lives on another token). */
  subkey: DigestSigner;
  subkeyCreated: Date;
  /** When the subkey expires (validity + overlap at a renewal). */
  expires: Date;
  /** Time of the binding signatures. */
  now: Date;
  hash?: OpenpgpHash;
}

/**
 * Append a signing subkey to a certificate (RFC 4880 §5.2.1 0x18 with an embedded 0x19, §11.1). The
 * packets already there, earlier subkeys included, are kept exactly as they were.
 */
export async function addSigningSubkey(certificate: Uint8Array, o: SigningSubkeyOptions): Promise<BuiltCertificate> {
  const packets = await readCertificatePackets(certificate);
  const primary = packets[0] as PublicKeyPacket;
  const hash = o.hash ?? DEFAULT_OPENPGP_HASH;
  const sub = await subkeyPacket(o.subkey.publicKey, o.subkeyCreated);
  assertNewSubkey(packets, sub, o.now);
  // The subkey states that it belongs to this primary (RFC 4880 §5.2.1 0x19): without it anyone could
  // bind someone else's signing key to their certificate. GnuPG refuses signing subkeys that lack it.
  const backSig = await makeSignature(Buffer.concat([keyFraming(primary), keyFraming(sub)]), { type: enums.signature.keyBinding, hash, created: o.now, issuer: sub, signer: o.subkey });
  return bindSigningSubkey(packets, sub, backSig, { primary: o.primary, subkeyCreated: o.subkeyCreated, expires: o.expires, now: o.now, hash });
}

export interface RequestedSubkeyOptions {
  /** The primary (root) key: makes the subkey binding signature. */
  primary: DigestSigner;
  /** The subkey packet from the request (its secret stays with whoever made the request). */
  subkey: PublicSubkeyPacket;
  /** The subkey's own back-signature (0x19) from the request, already checked over this primary. */
  backSignature: SignaturePacket;
  expires: Date;
  now: Date;
  hash?: OpenpgpHash;
}

/**
 * Append a signing subkey whose secret is held elsewhere (the build server's, issue 15): the request
 * brings the 0x19, the primary makes the 0x18 that embeds it (RFC 4880 §5.2.1, §11.1).
 */
export async function addRequestedSigningSubkey(certificate: Uint8Array, o: RequestedSubkeyOptions): Promise<BuiltCertificate> {
  const packets = await readCertificatePackets(certificate);
  assertNewSubkey(packets, o.subkey, o.now);
  return bindSigningSubkey(packets, o.subkey, o.backSignature, { primary: o.primary, subkeyCreated: o.subkey.getCreationTime(), expires: o.expires, now: o.now, hash: o.hash ?? DEFAULT_OPENPGP_HASH });
}

function assertNewSubkey(packets: PacketList<AnyPacket>, sub: PublicSubkeyPacket, now: Date): void {
  if (packets.some((p) => (p instanceof PublicKeyPacket || p instanceof PublicSubkeyPacket) && p.getFingerprint() === sub.getFingerprint())) {
    throw new CeremonyError('USAGE', `the certificate already holds key ${keyIdHex(sub)}`);
  }
  if (toOpenpgpTime(now) < sub.getCreationTime()) throw new CeremonyError('USAGE', 'a subkey cannot be bound before its creation time');
}

/** The subkey binding signature (0x18): sign flag, expiry, and the subkey's back-signature embedded. */
async function bindSigningSubkey(
  packets: PacketList<AnyPacket>,
  sub: PublicSubkeyPacket,
  backSig: SignaturePacket,
  o: { primary: DigestSigner; subkeyCreated: Date; expires: Date; now: Date; hash: OpenpgpHash },
): Promise<BuiltCertificate> {
  const primary = packets[0] as PublicKeyPacket;
  const keyExpiration = expirySeconds(o.subkeyCreated, o.expires, 'subkey');
  const binding = await makeSignature(Buffer.concat([keyFraming(primary), keyFraming(sub)]), {
    type: enums.signature.subkeyBinding,
    hash: o.hash,
    created: o.now,
    issuer: primary,
    signer: o.primary,
    subpackets: (sig) => {
      sig.keyFlags = Uint8Array.from([FLAG_SIGN]);
      sig.keyExpirationTime = keyExpiration;
      sig.embeddedSignature = backSig;
    },
  });
  const list = new PacketList<AnyPacket>();
  list.push(...packets, sub, binding);
  return { certificate: list.write(), key: refOf(sub) };
}

/** openpgp.js looks allowed packet classes up by tag (src/packet/packetlist.js newPacketFromTag). */
const CERTIFICATE_PACKETS = {
  [enums.packet.publicKey]: PublicKeyPacket,
  [enums.packet.publicSubkey]: PublicSubkeyPacket,
  [enums.packet.userID]: UserIDPacket,
  [enums.packet.signature]: SignaturePacket,
} as unknown as Parameters<typeof PacketList.fromBinary>[1];

/** Parse our certificate format (primary first; only public packets) with a size limit. */
export async function readCertificatePackets(certificate: Uint8Array): Promise<PacketList<AnyPacket>> {
  if (certificate.length > MAX_CERTIFICATE_BYTES) throw new CeremonyError('CERTIFICATE_MALFORMED', 'the OpenPGP certificate is larger than 1 MiB');
  let packets: PacketList<AnyPacket>;
  try {
    packets = await PacketList.fromBinary(certificate, CERTIFICATE_PACKETS);
  } catch (e) {
    throw new CeremonyError('CERTIFICATE_MALFORMED', 'the OpenPGP certificate cannot be parsed', { cause: e });
  }
  if (!(packets[0] instanceof PublicKeyPacket) || packets[0].version !== 4) {
    throw new CeremonyError('CERTIFICATE_MALFORMED', 'the OpenPGP certificate does not start with a v4 public key packet');
  }
  return packets;
}

/** Every key in a certificate, primary first, in packet order. */
export async function certificateKeys(certificate: Uint8Array): Promise<OpenpgpKeyRef[]> {
  const packets = await readCertificatePackets(certificate);
  return packets.filter((p): p is KeyPacket => p instanceof PublicKeyPacket || p instanceof PublicSubkeyPacket).map(refOf);
}

/** The key with this fingerprint or key ID (hex, any case, spaces ignored). */
export async function findCertificateKey(certificate: Uint8Array, fingerprintOrKeyId: string): Promise<OpenpgpKeyRef> {
  const want = fingerprintOrKeyId.replace(/\s+/g, '').toUpperCase();
  const found = (await certificateKeys(certificate)).find((k) => k.fingerprint === want || k.keyId === want);
  if (!found) throw new CeremonyError('KEY_NOT_FOUND', `the certificate holds no key ${fingerprintOrKeyId}`);
  return found;
}

/**
 * The certificate as a file: binary, or ASCII armor (RFC 4880 §6.2) with the CRC-24 line, which
 * GnuPG 2.2 needs to decode some armored blocks (dev.gnupg.org/T7071). Same input, same bytes.
 */
export function exportCertificate(certificate: Uint8Array, format: 'armored'): string;
export function exportCertificate(certificate: Uint8Array, format: 'binary'): Uint8Array;
export function exportCertificate(certificate: Uint8Array, format: 'armored' | 'binary'): string | Uint8Array {
  return format === 'binary' ? certificate : armor(enums.armor.publicKey, certificate, undefined, undefined, undefined, true);
}
