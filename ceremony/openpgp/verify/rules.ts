/**
 * The acceptance rules for a build-server signature (issue 3), in the order they are checked. Each refusal
 * names the rule that failed:
 *   SIGNATURE_INVALID          wrong signature type, or the signature does not match the data
 *   SIGNATURE_WEAK_HASH        hash weaker than SHA-256 (MD5, SHA-1, RIPEMD-160, SHA-224)
 *   SIGNATURE_UNTRUSTED        no pinned certificate holds the issuing key
 *   SIGNATURE_FUTURE           dated later than now + CLOCK_TOLERANCE_MS
 *   SIGNATURE_KEY_REVOKED      the key or its primary is revoked (for any reason, at any date), by itself or by a
 *                              designated revoker of the certificate (RFC 4880 §5.2.3.15)
 *   SIGNATURE_REVOKER_UNKNOWN  the certificate names a designated revoker whose certificate was not given
 *   SIGNATURE_KEY_EXPIRED      the key or its primary had expired when it signed
 *   SIGNATURE_NOT_SIGNING_KEY  not flagged for signing, or a subkey without a valid binding and back-signature
 * The cryptographic check is openpgp.js's, fed with the digest we computed in the single read of the file
 * (SignaturePacket.verify uses a precomputed `hashed` value when it has one). Key validity follows GnuPG: the
 * newest valid self-signatures say what a key is and when it expires, and the signature's own date must fall
 * inside that validity (openpgp.js's getSigningKey(date) would instead demand a binding older than the
 * signature, which GnuPG does not keep once an expiry is changed).
 */
import { createHash } from 'node:crypto';
import * as openpgp from 'openpgp';
import { CeremonyError } from '../../errors.js';
import { hasValidBackSignature, latestBindingSignature, type TrustedCertificate } from './certificate.js';
import { issuerClaim } from './subpackets.js';
import { hashDisplayName, signatureTrailer, strongHashName, type DetachedSignature } from './signature.js';

/** Build servers and this laptop have unsynchronised clocks: a signature may be dated up to 5 minutes ahead. */
export const CLOCK_TOLERANCE_MS = 5 * 60 * 1000;

export type SignatureKind = 'binary' | 'text';

export interface SignatureRules {
  trusted: readonly TrustedCertificate[];
  now: Date;
  /** Which signature types are acceptable: release files need a binary-document signature (0x00). */
  kinds: readonly SignatureKind[];
  toleranceMs?: number;
}

export interface SignerIdentity {
  /** Primary key fingerprint of the pinned certificate. */
  primaryFingerprint: string;
  /** Fingerprint of the key that signed (a subkey, or the primary itself). */
  keyFingerprint: string;
  userIDs: string[];
  certificateSource: string;
  created: Date;
  hashAlgorithm: string;
}

/** What must be hashed after the data, decided before the data is read (so cheap refusals skip the read). */
export interface PreparedSignature {
  signature: DetachedSignature;
  /** Node name of the hash to compute over the data. */
  hash: string;
  /** Appended to the data hash (RFC 4880 §5.2.4). */
  trailer: Buffer;
  candidates: { cert: TrustedCertificate; key: openpgp.PublicKey | openpgp.Subkey }[];
}

const KIND_TYPES: Record<SignatureKind, number> = { binary: openpgp.enums.signature.binary, text: openpgp.enums.signature.text };

/** Type, hash strength and trust: the rules that need no data. */
export function prepareSignature(signature: DetachedSignature, rules: SignatureRules): PreparedSignature {
  const { packet, source } = signature;
  const allowed = rules.kinds.map((k) => KIND_TYPES[k]);
  if (packet.signatureType === null || !allowed.includes(packet.signatureType)) {
    const what = packet.signatureType === openpgp.enums.signature.text ? 'a text signature' : `a signature of type 0x${(packet.signatureType ?? 0).toString(16).padStart(2, '0')}`;
    throw new CeremonyError('SIGNATURE_INVALID', `${source} is ${what}, not a ${rules.kinds.join(' or ')}-document signature (RFC 4880 §5.2.1)`);
  }
  const hash = strongHashName(packet.hashAlgorithm);
  if (!hash) {
    throw new CeremonyError('SIGNATURE_WEAK_HASH', `${source} uses ${hashDisplayName(packet.hashAlgorithm)}; only SHA-256 or stronger is accepted`);
  }
  const issuer = issuerClaim(packet);
  // Two different signed fingerprints, or a signed key ID that is not the signed fingerprint's (RFC 4880 §12.2: the
  // low 64 bits), name no one key: refuse rather than pick one.
  if (issuer.hashed && (new Set(issuer.fingerprints).size > 1 || issuer.keyIDs.some((id) => issuer.fingerprints.some((f) => !f.endsWith(id))))) {
    throw new CeremonyError('SIGNATURE_INVALID', `${source} names two different issuers in its signed part`);
  }
  const candidates: PreparedSignature['candidates'] = [];
  for (const cert of rules.trusted) {
    for (const key of [cert.key, ...cert.key.subkeys]) {
      const fpr = key.getFingerprint().toUpperCase();
      const named = issuer.fingerprints.includes(fpr) || issuer.keyIDs.includes(key.getKeyID().toHex().toUpperCase());
      // a signed fingerprint is the issuer; a bare key ID (signed or not) only narrows the keys worth trying
      if (named && (!issuer.hashed || issuer.fingerprints.length === 0 || issuer.fingerprints.includes(fpr))) candidates.push({ cert, key });
    }
  }
  if (candidates.length === 0) {
    const who = issuer.fingerprints[0] ?? issuer.keyIDs[0];
    // No issuer at all: GnuPG cannot find a key for it either ("No public key").
    throw new CeremonyError('SIGNATURE_UNTRUSTED', who ? `${source} was made by key ${who}, which no pinned certificate holds` : `${source} does not name the key that made it (no Issuer subpacket)`);
  }
  return { signature, hash, trailer: signatureTrailer(packet), candidates };
}

async function cryptoCheck(prepared: PreparedSignature, digest: Uint8Array): Promise<PreparedSignature['candidates'][number]> {
  const packet = prepared.signature.packet as openpgp.SignaturePacket & { hashed?: Uint8Array };
  let why = '';
  for (const c of prepared.candidates) {
    const claimed = packet.issuerKeyID;
    try {
      packet.hashed = digest;
      // openpgp.js compares its folded issuer key ID (the unhashed one wins) with the key: give it the candidate's,
      // chosen above from the signed issuer.
      packet.issuerKeyID = c.key.getKeyID();
      // date null: openpgp.js skips its own date checks; ours (with the stated tolerance) follow. It still refuses
      // unknown critical subpackets and notations (RFC 4880 §5.2.3.1).
      await packet.verify(c.key.keyPacket, packet.signatureType!, null as unknown as object, null as unknown as Date, true);
      return c;
    } catch (e) {
      // try the next candidate (key ID collisions between pinned certificates)
      why = e instanceof Error ? e.message : String(e);
    } finally {
      delete packet.hashed;
      packet.issuerKeyID = claimed;
    }
  }
  const source = prepared.signature.source;
  if (/critical/i.test(why)) throw new CeremonyError('SIGNATURE_INVALID', `${source} carries a critical element this verifier does not understand (${why})`);
  throw new CeremonyError('SIGNATURE_INVALID', `${source} does not match the data it is supposed to sign (altered data, or a signature over something else)`);
}

/** The remaining rules, given the digest of data ‖ trailer. Returns who signed, or throws the failed rule. */
export async function completeSignature(prepared: PreparedSignature, digest: Uint8Array, rules: SignatureRules): Promise<SignerIdentity> {
  const { source, packet } = prepared.signature;
  const { cert, key } = await cryptoCheck(prepared, digest);
  const created = packet.created!;
  const tolerance = rules.toleranceMs ?? CLOCK_TOLERANCE_MS;
  const keyFpr = key.getFingerprint().toUpperCase();
  const primaryFpr = cert.description.fingerprint;
  if (created.getTime() > rules.now.getTime() + tolerance) {
    throw new CeremonyError('SIGNATURE_FUTURE', `${source} is dated ${created.toISOString()}, later than now (${rules.now.toISOString()}) plus the ${tolerance / 60000}-minute clock tolerance`);
  }
  const sigExpiry = packet.getExpirationTime();
  if (sigExpiry instanceof Date && sigExpiry <= rules.now) {
    throw new CeremonyError('SIGNATURE_INVALID', `${source} expired on ${sigExpiry.toISOString()} (its own signature expiration time, RFC 4880 §5.2.3.10)`);
  }
  const isSubkey = key instanceof openpgp.Subkey;
  const designated = cert.description.designatedRevocation;
  if (designated.revokedBy) {
    throw new CeremonyError('SIGNATURE_KEY_REVOKED', `${source} was made under certificate ${primaryFpr}, which its designated revoker ${designated.revokedBy} has revoked (RFC 4880 §5.2.3.15)`);
  }
  if (designated.unchecked.length > 0) {
    throw new CeremonyError(
      'SIGNATURE_REVOKER_UNKNOWN',
      `${source} was made under certificate ${primaryFpr}, which names designated revoker ${designated.unchecked.join(', ')} whose certificate was not given, so its revocations cannot be checked; pin it or give it with --revoker-key`,
    );
  }
  if (await cert.key.isRevoked(undefined, undefined, rules.now)) {
    throw new CeremonyError('SIGNATURE_KEY_REVOKED', `${source} was made under certificate ${primaryFpr}, whose primary key is revoked`);
  }
  if (isSubkey && (await key.isRevoked(null as unknown as openpgp.SignaturePacket, null as unknown as openpgp.PublicKeyPacket, rules.now))) {
    throw new CeremonyError('SIGNATURE_KEY_REVOKED', `${source} was made by subkey ${keyFpr}, which is revoked`);
  }
  if (key.getCreationTime() > created || cert.key.getCreationTime() > created) {
    throw new CeremonyError('SIGNATURE_INVALID', `${source} is dated ${created.toISOString()}, before its key ${keyFpr} was created`);
  }
  const primaryExpiry = await cert.key.getExpirationTime().catch(() => null);
  if (primaryExpiry instanceof Date && primaryExpiry <= created) {
    throw new CeremonyError('SIGNATURE_KEY_EXPIRED', `${source} was made on ${created.toISOString()}, after certificate ${primaryFpr} expired (${primaryExpiry.toISOString()})`);
  }
  if (isSubkey) {
    const binding = await latestBindingSignature(key, new Date(rules.now.getTime() + tolerance), rules.now);
    if (!binding) {
      throw new CeremonyError('SIGNATURE_NOT_SIGNING_KEY', `${source} was made by subkey ${keyFpr}, which has no valid binding signature from ${primaryFpr}`);
    }
    const expiry = binding.keyExpirationTime ? new Date(key.getCreationTime().getTime() + binding.keyExpirationTime * 1000) : null;
    if (expiry && expiry <= created) {
      throw new CeremonyError('SIGNATURE_KEY_EXPIRED', `${source} was made on ${created.toISOString()}, after subkey ${keyFpr} expired (${expiry.toISOString()})`);
    }
    if (!binding.keyFlags || !(binding.keyFlags[0]! & openpgp.enums.keyFlags.signData)) {
      throw new CeremonyError('SIGNATURE_NOT_SIGNING_KEY', `${source} was made by subkey ${keyFpr}, which is not bound as a signing key`);
    }
    if (!(await hasValidBackSignature(key, binding))) {
      throw new CeremonyError('SIGNATURE_NOT_SIGNING_KEY', `${source} was made by subkey ${keyFpr}, whose binding lacks a valid primary-key back-signature (RFC 4880 §5.2.1, 0x19)`);
    }
  } else {
    const self = await cert.key.getPrimaryUser(null as unknown as Date).catch(() => null);
    if (!self) throw new CeremonyError('SIGNATURE_NOT_SIGNING_KEY', `${source} was made by ${keyFpr}, whose certificate has no valid self-signature`);
    const flags = self.selfCertification.keyFlags;
    if (!flags || !(flags[0]! & openpgp.enums.keyFlags.signData)) {
      throw new CeremonyError('SIGNATURE_NOT_SIGNING_KEY', `${source} was made by primary key ${keyFpr}, which is not flagged for signing`);
    }
  }
  assertStrongKey(key, source, keyFpr);
  return {
    primaryFingerprint: primaryFpr,
    keyFingerprint: keyFpr,
    userIDs: cert.description.userIDs,
    certificateSource: cert.source,
    created,
    hashAlgorithm: hashDisplayName(packet.hashAlgorithm),
  };
}

/** Keys too small to trust whatever the hash (openpgp.js's own floor, config.minRSABits, is 2047). */
function assertStrongKey(key: openpgp.PublicKey | openpgp.Subkey, source: string, keyFpr: string): void {
  const { algorithm, bits } = key.getAlgorithmInfo();
  const rsa = algorithm === 'rsaEncryptSign' || algorithm === 'rsaSign';
  const modern = ['ecdsa', 'eddsaLegacy', 'ed25519', 'ed448'].includes(algorithm);
  if ((rsa && (bits ?? 0) < 2048) || (!rsa && !modern)) {
    throw new CeremonyError('SIGNATURE_NOT_SIGNING_KEY', `${source} was made by key ${keyFpr} (${algorithm}${bits ? ` ${bits} bits` : ''}), too weak to accept`);
  }
}

/** RFC 4880 §5.2.1 0x01: a text signature is over the data with every line ending made <CR><LF>. */
export function canonicalLineEndings(data: Uint8Array): Buffer {
  return Buffer.from(Buffer.from(data).toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}

/** Check a signature over bytes already in memory (DIGESTS files, small inputs). */
export async function verifySignatureOverBytes(signature: DetachedSignature, data: Uint8Array, rules: SignatureRules): Promise<SignerIdentity> {
  const prepared = prepareSignature(signature, rules);
  const signed = signature.packet.signatureType === openpgp.enums.signature.text ? canonicalLineEndings(data) : data;
  const digest = createHash(prepared.hash).update(signed).update(prepared.trailer).digest();
  return completeSignature(prepared, digest, rules);
}
