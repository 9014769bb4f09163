/**
 * An HSM key's OpenPGP certificate, kept on the token beside the key (DESIGN §2): the fingerprint
 * depends on the creation time, so the certificate built at generation is stored as a public CKO_DATA
 * object (PKCS#11 v2.40 §4.5) labelled like the key, and the key's CKA_ID becomes its OpenPGP key ID.
 * The same key then exports to the same certificate, from the token alone.
 */
import { CeremonyError } from '../errors.js';
import { findKeys, findPrivateKey, keyValidity, listDataObjects, publicKeyOf, readDataObject, writeDataObject, type KeyInfo, type Validity } from '../hsm/keys.js';
import { TokenKeySigner } from '../hsm/token-signer.js';
import type { TokenSession } from '../hsm/token.js';
import { authenticateKey, checkStoredCertificate, recordCertificate } from '../hsm/key-state.js';
import type { Pkcs11Uri } from '../hsm/uri.js';
import { buildPrimaryCertificate, certificateKeys, exportCertificate, type OpenpgpKeyRef } from './build/certificate.js';
import { keyPacketHolds, toOpenpgpTime } from './build/packets.js';
import { verifyCertificate } from './build/self-check.js';
import { endOfDay } from '../dates.js';


/** CKA_APPLICATION of the data objects holding certificates. */
export const OPENPGP_APPLICATION = 'ceremony-openpgp';

/**
 * Store `certificate` for the token key `key` (either half), whose OpenPGP key (primary or subkey) is
 * `openpgp`. A later store replaces the earlier certificate (e.g. the root key's certificate after a
 * renewal added a subkey). The key's CKA_ID stays what it was made with: keys are locked objects
 * (CKA_MODIFIABLE=false, issue 10), so the certificate, not the CKA_ID, names the OpenPGP key.
 */
export function storeCertificate(ts: TokenSession, key: KeyInfo, certificate: Uint8Array, openpgp: OpenpgpKeyRef): void {
  if (!keyPacketHolds(openpgp.packet, publicKeyOf(ts, key.handle))) {
    throw new CeremonyError('KEY_UNSUITABLE', `OpenPGP key ${openpgp.keyId} is not the key '${key.label}' on token '${ts.info.label}'`);
  }
  writeDataObject(ts, { label: key.label, application: OPENPGP_APPLICATION, value: Buffer.from(certificate) });
  // The public copy can be replaced without a PIN; its hash in the key's private record cannot (issue 10).
  recordCertificate(ts, key.label, certificate);
}

/** The stored certificate of the key labelled `label`, if any (public object: no login needed). */
export function readCertificate(ts: TokenSession, label: string): Uint8Array | undefined {
  return readDataObject(ts, { label, application: OPENPGP_APPLICATION });
}

export interface OpenpgpTokenKey {
  /** The token key: the private half when the session is logged in, else the public half. */
  key: KeyInfo;
  certificate: Uint8Array;
  /** The OpenPGP key (primary or subkey) in `certificate` that this token key holds. */
  openpgp: OpenpgpKeyRef;
  canSign: boolean;
  /** OpenPGP expiry from the certificate; undefined = never. */
  expires: Date | undefined;
  /** CKA_START_DATE/CKA_END_DATE window on the token. */
  tokenValidity: Validity;
  /** May sign now: sign-capable, not expired in OpenPGP, inside its token window, certificate checks. */
  usable: boolean;
}

/**
 * Every key on the token that has a stored certificate: usable signing keys first, newest first. The
 * audit seal takes the first entry ("the newest valid OpenPGP signing key on the signing token").
 * A data object whose certificate does not hold the key with its label is ignored: it proves nothing.
 */
export async function findOpenpgpKeys(ts: TokenSession, now: Date = new Date()): Promise<OpenpgpTokenKey[]> {
  const out: OpenpgpTokenKey[] = [];
  for (const { label, value } of listDataObjects(ts, OPENPGP_APPLICATION)) {
    const halves = findKeys(ts, { object: label, extraPath: [], extraQuery: [] });
    const priv = halves.find((k) => k.type === 'private');
    // Logged in: the key's state record decides its validity and vouches for the stored certificate.
    if (priv) checkStoredCertificate(ts, label, value);
    const key = priv ? authenticateKey(ts, priv) : halves[0];
    if (!key || value.length === 0) continue;
    let refs: OpenpgpKeyRef[];
    try {
      refs = await certificateKeys(value);
    } catch {
      continue;
    }
    const pub = publicKeyOf(ts, key.handle);
    // The key material decides, not the CKA_ID (locked keys keep the random ID they were made with).
    const openpgp = refs.find((r) => keyPacketHolds(r.packet, pub));
    if (!openpgp) continue;
    let canSign = false;
    let expires: Date | undefined;
    let certificateChecks = true;
    try {
      const status = await verifyCertificate(value, now);
      const mine = openpgp.role === 'primary' ? status.primary : status.subkeys.find((s) => s.fingerprint === openpgp.fingerprint);
      canSign = mine?.canSign ?? false;
      expires = mine?.expires;
    } catch {
      certificateChecks = false;
    }
    const tokenValidity = keyValidity(key, now);
    const usable = certificateChecks && canSign && (!expires || expires > now) && (tokenValidity.state === 'valid' || tokenValidity.state === 'undated');
    out.push({ key, certificate: value, openpgp, canSign, expires, tokenValidity, usable });
  }
  return out.sort((a, b) => Number(b.usable) - Number(a.usable) || b.openpgp.created.getTime() - a.openpgp.created.getTime());
}

/** The newest usable OpenPGP signing key on the token, or KEY_NOT_FOUND. */
export async function newestSigningKey(ts: TokenSession, now: Date = new Date()): Promise<OpenpgpTokenKey> {
  const [first] = await findOpenpgpKeys(ts, now);
  if (!first?.usable) throw new CeremonyError('KEY_NOT_FOUND', `token '${ts.info.label}' has no valid OpenPGP signing key`);
  return first;
}

export interface StandaloneKeyOptions {
  userId: string;
  /** The OpenPGP creation time (part of the fingerprint; stored in the certificate). */
  now: Date;
  warn?: (message: string) => void;
}

/**
 * Build and store the certificate of a standalone signing key just generated on the token (`ceremony
 * key generate --openpgp-uid`): a primary key that certifies and signs, self-certified on the HSM, with
 * an OpenPGP expiry at the end of the key's last CKA_END_DATE day when it has one. Returns the key as
 * described after its CKA_ID became the OpenPGP key ID.
 */
export async function createOpenpgpCertificateForKey(ts: TokenSession, key: KeyInfo, o: StandaloneKeyOptions): Promise<{ key: KeyInfo; certificate: Uint8Array; openpgp: OpenpgpKeyRef }> {
  const created = toOpenpgpTime(o.now);
  const signer = new TokenKeySigner(ts, key, () => o.now, o.warn);
  const expires = key.endDate ? endOfDay(key.endDate) : undefined;
  const built = await buildPrimaryCertificate({ primary: signer, created, userId: o.userId, keyFlags: 'certify+sign', expires });
  await verifyCertificate(built.certificate, created);
  storeCertificate(ts, key, built.certificate, built.key);
  const updated = findPrivateKey(ts, { ...emptyUri(), object: key.label, id: key.id.length ? key.id : undefined });
  return { key: updated, certificate: built.certificate, openpgp: built.key };
}

function emptyUri(): Pkcs11Uri {
  return { extraPath: [], extraQuery: [] };
}

/**
 * The stored certificate of the key a URI names, armored: identical bytes at every export. Refuses a
 * stored certificate that does not hold the token key (a swapped or stale data object).
 */
export async function exportStoredCertificate(ts: TokenSession, uri: Pkcs11Uri): Promise<{ armored: string; binary: Uint8Array; fingerprint: string; keyId: string }> {
  if (uri.object === undefined && uri.id === undefined) throw new CeremonyError('BAD_URI', 'the key URI must name the key with object= or id=');
  const keys = findKeys(ts, { ...uri, type: undefined });
  const labels = [...new Set(keys.map((k) => k.label))];
  if (labels.length === 0) throw new CeremonyError('KEY_NOT_FOUND', `token '${ts.info.label}' has no key '${uri.object ?? uri.id?.toString('hex')}' visible without a PIN`);
  if (labels.length > 1) throw new CeremonyError('KEY_AMBIGUOUS', `token '${ts.info.label}' has ${labels.length} keys matching; add id= or object= to the URI`);
  const key = keys.find((k) => k.type === 'public') ?? keys[0]!;
  const certificate = readCertificate(ts, key.label);
  if (!certificate) {
    throw new CeremonyError('KEY_NOT_FOUND', `key '${key.label}' on token '${ts.info.label}' has no OpenPGP certificate (make one with key generate --openpgp-uid or a key ceremony)`);
  }
  const pub = publicKeyOf(ts, key.handle);
  const mine = (await certificateKeys(certificate)).find((r) => keyPacketHolds(r.packet, pub));
  if (!mine) throw new CeremonyError('KEY_UNSUITABLE', `the OpenPGP certificate stored for '${key.label}' on token '${ts.info.label}' does not hold that key`);
  return { armored: exportCertificate(certificate, 'armored'), binary: certificate, fingerprint: mine.fingerprint, keyId: mine.keyId };
}
