/**
 * Pinned build-server certificates (DESIGN §2): the only keys `ceremony verify` trusts. There is no keyring;
 * a certificate is trusted because the operator named its file. Each is parsed at the edge with a size
 * limit and described so a person can compare the fingerprint with the one published out of band.
 */
import * as openpgp from 'openpgp';
import { CeremonyError } from '../../errors.js';
import { readInputFile } from '../../files.js';
import { checkDesignatedRevocation, namedRevokers, type DesignatedRevocation } from './revokers.js';

/** A certificate larger than this is not a build-server certificate (Flatcar's, with years of subkeys, is 23 KiB). */
export const MAX_CERTIFICATE_BYTES = 1024 * 1024;

export type Capability = 'certify' | 'sign' | 'encrypt' | 'authenticate';

/** 'revoker-unchecked': the certificate names a designated revoker whose certificate was not given. */
export type KeyState = 'valid' | 'expired' | 'revoked' | 'not-yet-valid' | 'invalid-binding' | 'no-back-signature' | 'revoker-unchecked';

export interface KeyDescription {
  fingerprint: string;
  algorithm: string;
  bits: number | null;
  created: Date;
  /** null: does not expire. */
  expires: Date | null;
  capabilities: Capability[];
  state: KeyState;
}

export interface CertificateDescription {
  /** The primary key's fingerprint, uppercase hex: what a person compares with the published one. */
  fingerprint: string;
  userIDs: string[];
  primary: KeyDescription;
  subkeys: KeyDescription[];
  /** Designated revokers the certificate names (RFC 4880 §5.2.3.15), and what was found about them. */
  designatedRevocation: DesignatedRevocation;
}

export interface TrustedCertificate {
  /** Where it came from (a path, or a label for in-memory certificates). */
  source: string;
  key: openpgp.PublicKey;
  description: CertificateDescription;
}

/** RFC 4880 §5.2.3.21 key flags, first octet. */
function capabilitiesOf(flags: Uint8Array | null | undefined): Capability[] {
  const f = flags?.[0] ?? 0;
  const caps: Capability[] = [];
  if (f & 0x01) caps.push('certify');
  if (f & 0x02) caps.push('sign');
  if (f & 0x0c) caps.push('encrypt');
  if (f & 0x20) caps.push('authenticate');
  return caps;
}

function expiryOf(created: Date, keyExpirationTime: number | null | undefined): Date | null {
  return keyExpirationTime ? new Date(created.getTime() + keyExpirationTime * 1000) : null;
}

/**
 * The newest subkey binding signature (RFC 4880 §5.2.1, 0x18) that verifies cryptographically, is not dated after
 * `notAfter` and has not passed its own signature expiration time (§5.2.3.10) at `now`: an expired binding binds
 * nothing, as GnuPG ignores it. GnuPG replaces a subkey's binding when its expiry is changed, so the binding in
 * force may be younger than signatures the subkey made: like GnuPG, validity is judged by the newest binding.
 */
export async function latestBindingSignature(subkey: openpgp.Subkey, notAfter?: Date, now: Date = new Date()): Promise<openpgp.SignaturePacket | null> {
  const primary = subkey.mainKey.keyPacket;
  let latest: openpgp.SignaturePacket | null = null;
  for (const sig of subkey.bindingSignatures) {
    if (notAfter && sig.created && sig.created > notAfter) continue;
    const expires = sig.getExpirationTime();
    if (expires instanceof Date && expires <= now) continue;
    try {
      await sig.verify(primary, openpgp.enums.signature.subkeyBinding, { key: primary, bind: subkey.keyPacket }, null as unknown as Date);
      if (!latest || (sig.created ?? 0) >= (latest.created ?? 0)) latest = sig;
    } catch {
      // a binding that does not verify binds nothing
    }
  }
  return latest;
}

/**
 * RFC 4880 §5.2.1 0x19: the primary-key binding ("back-") signature a signing subkey must embed. Its type is checked
 * first: openpgp.js hashes the two keys the same way for 0x18, 0x19 and 0x28, so a subkey's signature of another
 * type over the same pair would otherwise pass for its consent to be bound.
 */
export async function hasValidBackSignature(subkey: openpgp.Subkey, binding: openpgp.SignaturePacket): Promise<boolean> {
  const back = binding.embeddedSignature;
  if (!back || back.signatureType !== openpgp.enums.signature.keyBinding) return false;
  try {
    const primary = subkey.mainKey.keyPacket;
    await back.verify(subkey.keyPacket, openpgp.enums.signature.keyBinding, { key: primary, bind: subkey.keyPacket }, null as unknown as Date);
    return true;
  } catch {
    return false;
  }
}

async function describeSubkey(subkey: openpgp.Subkey, now: Date): Promise<KeyDescription> {
  const info = subkey.getAlgorithmInfo();
  const created = subkey.getCreationTime();
  const binding = await latestBindingSignature(subkey, undefined, now);
  const capabilities = capabilitiesOf(binding?.keyFlags);
  const expires = expiryOf(created, binding?.keyExpirationTime);
  let state: KeyState;
  if (!binding) state = 'invalid-binding';
  else if (await subkey.isRevoked(null as unknown as openpgp.SignaturePacket, null as unknown as openpgp.PublicKeyPacket, now)) state = 'revoked';
  else if (capabilities.includes('sign') && !(await hasValidBackSignature(subkey, binding))) state = 'no-back-signature';
  else if (created > now) state = 'not-yet-valid';
  else if (expires && expires <= now) state = 'expired';
  else state = 'valid';
  return { fingerprint: subkey.getFingerprint().toUpperCase(), algorithm: info.algorithm, bits: info.bits ?? null, created, expires, capabilities, state };
}

export async function describeCertificate(key: openpgp.PublicKey, now: Date, designated: DesignatedRevocation = { revokers: [], unchecked: [], revokedBy: null }): Promise<CertificateDescription> {
  const info = key.getAlgorithmInfo();
  const created = key.getCreationTime();
  let selfSig: openpgp.SignaturePacket | null = null;
  try {
    selfSig = (await key.getPrimaryUser(null as unknown as Date)).selfCertification;
  } catch {
    selfSig = null;
  }
  let expiration: Date | number | null = null;
  try {
    expiration = await key.getExpirationTime();
  } catch {
    expiration = null;
  }
  const expires = expiration instanceof Date ? expiration : null;
  let state: KeyState;
  if (!selfSig) state = 'invalid-binding';
  else if (designated.revokedBy || (await key.isRevoked(undefined, undefined, now))) state = 'revoked';
  else if (designated.unchecked.length > 0) state = 'revoker-unchecked';
  else if (created > now) state = 'not-yet-valid';
  else if (expires && expires <= now) state = 'expired';
  else state = 'valid';
  const primary: KeyDescription = {
    fingerprint: key.getFingerprint().toUpperCase(),
    algorithm: info.algorithm,
    bits: info.bits ?? null,
    created,
    expires,
    capabilities: capabilitiesOf(selfSig?.keyFlags),
    state,
  };
  const subkeys: KeyDescription[] = [];
  for (const s of key.subkeys) subkeys.push(await describeSubkey(s, now));
  return { fingerprint: primary.fingerprint, userIDs: key.getUserIDs(), primary, subkeys, designatedRevocation: designated };
}

/** Read one file of public certificates (armored or binary). Secret keys are refused: only public material is needed. */
async function readPublicKeys(bytes: Uint8Array, source: string, role: string): Promise<openpgp.PublicKey[]> {
  let keys: openpgp.Key[];
  try {
    const text = Buffer.from(bytes).toString('latin1');
    keys = text.includes('-----BEGIN PGP')
      ? await openpgp.readKeys({ armoredKeys: text })
      : await openpgp.readKeys({ binaryKeys: bytes });
  } catch (e) {
    throw new CeremonyError('CERTIFICATE_MALFORMED', `${source} is not an OpenPGP certificate`, { cause: e });
  }
  if (keys.length === 0) throw new CeremonyError('CERTIFICATE_MALFORMED', `${source} holds no OpenPGP certificate`);
  for (const k of keys) {
    if (k.isPrivate()) {
      throw new CeremonyError('CERTIFICATE_MALFORMED', `${source} holds secret key material; ${role} the public certificate only`);
    }
  }
  return keys as openpgp.PublicKey[];
}

/** Describe pinned keys, their designated revocations checked with the revokers' keys found in `pool`. */
async function trust(keys: readonly { key: openpgp.PublicKey; source: string }[], pool: readonly openpgp.PublicKey[], now: Date): Promise<TrustedCertificate[]> {
  const out: TrustedCertificate[] = [];
  for (const { key, source } of keys) {
    const designated = await checkDesignatedRevocation(key, await namedRevokers(key), pool);
    out.push({ source, key, description: await describeCertificate(key, now, designated) });
  }
  return out;
}

/**
 * Parse one file of certificates to pin. A designated revoker is looked for among the certificates of this file and
 * `revokers` (certificates given only so that their revocations can be checked; they are not trusted to sign).
 */
export async function parseCertificates(bytes: Uint8Array, source: string, now: Date, revokers: readonly openpgp.PublicKey[] = []): Promise<TrustedCertificate[]> {
  const keys = await readPublicKeys(bytes, source, 'pin');
  return trust(keys.map((key) => ({ key, source })), [...keys, ...revokers], now);
}

/**
 * Read and parse every pinned certificate file, and the designated revokers' certificates (`--revoker-key`); any
 * unreadable or malformed one stops everything (exit 2). A revoker may be pinned itself or given as a revoker.
 */
export async function loadTrustedCertificates(paths: readonly string[], now: Date = new Date(), revokerPaths: readonly string[] = []): Promise<TrustedCertificate[]> {
  if (paths.length === 0) {
    throw new CeremonyError('USAGE', 'no trusted certificate was given; name the build server certificate with --trusted-key');
  }
  const pinned: { key: openpgp.PublicKey; source: string }[] = [];
  for (const p of paths) {
    const bytes = readInputFile(p, 'certificate', MAX_CERTIFICATE_BYTES);
    for (const key of await readPublicKeys(bytes, p, 'pin')) pinned.push({ key, source: p });
  }
  const revokers: openpgp.PublicKey[] = [];
  for (const p of revokerPaths) {
    revokers.push(...(await readPublicKeys(readInputFile(p, 'revoker certificate', MAX_CERTIFICATE_BYTES), p, 'give')));
  }
  return trust(pinned, [...pinned.map((k) => k.key), ...revokers], now);
}
