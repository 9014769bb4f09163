/**
 * Key state that no one can forge without a PIN (issue 10). A key's public half is a public object: any
 * process that can open a session on the token may delete it and create a look-alike with other dates or
 * another CKA_ID, no PIN needed. So what decides whether a key may sign (its role, validity window, key
 * material and stored certificate) is kept in a *private* CKO_DATA object beside it, made in the logged-in
 * session that generated the key: creating, reading or destroying a private object needs the user PIN
 * (PKCS#11 v2.40 §4.4 CKA_PRIVATE), and it is not modifiable (CKA_MODIFIABLE=false).
 *
 * The public half, the private half and the stored certificate are then checked against this record at
 * every use in a logged-in session; a difference means the token was changed behind the tool's back and
 * is refused with TOKEN_TAMPERED. Keys made before records existed (their private half is modifiable)
 * keep working from their public dates, with a warning saying how to migrate.
 */
import { z } from 'zod';
import { pkcs11 } from './native.js';
import { CeremonyError } from '../errors.js';
import { findHandles, publicKeyOf, readAttrs, readDataObject, writeDataObject } from './objects.js';
import type { TokenSession } from './token.js';
import type { KeyInfo, KeyRole } from './key-info.js';
import { hashBytes, spkiSha256Hex } from '../crypto.js';

/** CKA_APPLICATION of the private key state records. */
export const KEY_STATE_APPLICATION = 'ceremony-key-state';
const MAX_RECORD_BYTES = 4096;

export interface KeyStateRecord {
  format: 'ceremony-key-state/1';
  label: string;
  /** CKA_ID of both halves, hex. */
  id: string;
  role: KeyRole;
  bits: number;
  /** SHA-256 of the key's SubjectPublicKeyInfo (DER), hex: binds the record to the key material. */
  spkiSha256: string;
  /** First and last valid day (UTC, YYYY-MM-DD), as CKA_START_DATE/CKA_END_DATE were set; null = undated. */
  startDate: string | null;
  endDate: string | null;
  /** SHA-256 of the OpenPGP certificate stored for this key, hex; null = none stored. */
  certificateSha256: string | null;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const RecordSchema = z.strictObject({
  format: z.literal('ceremony-key-state/1'),
  label: z.string().min(1).max(128),
  id: z.string().regex(/^[0-9a-f]{0,128}$/),
  role: z.enum(['root', 'signing-subkey', 'payload', 'openpgp-key']),
  bits: z.int().min(1024).max(16384),
  spkiSha256: z.string().regex(HEX64),
  startDate: z.string().regex(DAY).nullable(),
  endDate: z.string().regex(DAY).nullable(),
  certificateSha256: z.string().regex(HEX64).nullable(),
});

function sha256(b: Uint8Array): string {
  return hashBytes('sha256', b).toString('hex');
}

function tampered(ts: TokenSession, what: string): CeremonyError {
  return new CeremonyError(
    'TOKEN_TAMPERED',
    `token '${ts.info.label}' was tampered with: ${what}; nothing was signed or changed (compare the token with its backup and the ceremony records before using it again)`,
    { details: { token: ts.info.label } },
  );
}

export function spkiSha256(ts: TokenSession, handle: Buffer): string {
  return spkiSha256Hex(publicKeyOf(ts, handle));
}

/** Write (or replace) the record of a key just made or changed, in a logged-in session. */
export function writeKeyState(ts: TokenSession, record: KeyStateRecord): void {
  writeDataObject(ts, { label: record.label, application: KEY_STATE_APPLICATION, value: Buffer.from(JSON.stringify(record), 'utf8'), private: true });
}

/** The record of the key labelled `label`, or undefined (none, or the session is not logged in). */
export function readKeyState(ts: TokenSession, label: string): KeyStateRecord | undefined {
  const raw = readDataObject(ts, { label, application: KEY_STATE_APPLICATION });
  if (!raw) return undefined;
  if (raw.length > MAX_RECORD_BYTES) throw tampered(ts, `the key state record of '${label}' is not one this tool writes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw tampered(ts, `the key state record of '${label}' is not one this tool writes`);
  }
  const r = RecordSchema.safeParse(parsed);
  if (!r.success || r.data.label !== label) throw tampered(ts, `the key state record of '${label}' is not one this tool writes`);
  return r.data;
}

/** Record the certificate now stored for a key (a logged-in session; keys without a record are left alone). */
export function recordCertificate(ts: TokenSession, label: string, certificate: Uint8Array): void {
  const record = readKeyState(ts, label);
  if (record) writeKeyState(ts, { ...record, certificateSha256: sha256(certificate) });
}

function ckDay(b: Buffer | undefined): string | null {
  if (!b || b.length !== 8 || !/^\d{8}$/.test(b.toString('ascii')) || b.toString('ascii') === '00000000') return null;
  const s = b.toString('ascii');
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`;
}

/** The message a key made before records existed carries (shown at every use until it is replaced). */
export function legacyKeyWarning(label: string): string {
  return `key '${label}' was made before key state records: its validity is read from its public half, which a session without a PIN can change; replace it (a renewal makes a new signing subkey; key generate a new payload key) to migrate`;
}

/**
 * The private key `key` as its state record says it is (role, validity), after checking that nothing a
 * no-PIN session can touch disagrees: the private half's key material and CKA_ID, and every public object
 * with its label (key material, CKA_ID, dates). Needs a logged-in session (the record is private).
 */
export function authenticateKey(ts: TokenSession, key: KeyInfo): KeyInfo {
  if (key.type !== 'private') throw new CeremonyError('INTERNAL', 'only a private key (logged-in session) can be checked against its state record');
  const record = readKeyState(ts, key.label);
  if (!record) {
    // A private half made by this tool is locked (not modifiable); the record was made with it in the same
    // session, and only a session with the PIN can remove it. A locked key without one was tampered with.
    if (key.protections.modifiable === false) throw tampered(ts, `the key state record of '${key.label}' is missing`);
    return { ...key, state: 'legacy', stateWarning: legacyKeyWarning(key.label) };
  }
  if (record.id !== key.id.toString('hex')) throw tampered(ts, `key '${key.label}' has another CKA_ID than its state record`);
  if (record.spkiSha256 !== spkiSha256(ts, key.handle)) throw tampered(ts, `key '${key.label}' is not the key its state record was made for`);
  const publics = findHandles(ts, [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY },
    { type: pkcs11.CKA_LABEL, value: key.label },
  ]);
  if (publics.length === 0) throw tampered(ts, `the public half of key '${key.label}' was deleted`);
  for (const h of publics) checkPublicHalf(ts, h, record);
  return {
    ...key,
    role: record.role,
    startDate: record.startDate ? new Date(`${record.startDate}T00:00:00Z`) : undefined,
    endDate: record.endDate ? new Date(`${record.endDate}T00:00:00Z`) : undefined,
    state: 'authenticated',
  };
}

function checkPublicHalf(ts: TokenSession, handle: Buffer, record: KeyStateRecord): void {
  const a = readAttrs(ts, handle, [pkcs11.CKA_ID, pkcs11.CKA_START_DATE, pkcs11.CKA_END_DATE]);
  const label = record.label;
  if ((a.get(pkcs11.CKA_ID) ?? Buffer.alloc(0)).toString('hex') !== record.id) throw tampered(ts, `a public key object labelled '${label}' has another CKA_ID than the key (a look-alike was created)`);
  if (spkiSha256(ts, handle) !== record.spkiSha256) throw tampered(ts, `a public key object labelled '${label}' holds another key (a look-alike was created)`);
  if (ckDay(a.get(pkcs11.CKA_START_DATE)) !== record.startDate || ckDay(a.get(pkcs11.CKA_END_DATE)) !== record.endDate) {
    throw tampered(ts, `the validity dates of key '${label}' on its public half differ from the key's state record (they were rewritten)`);
  }
}

/** Refuse a stored certificate that is not the one recorded for the key (a logged-in session). */
export function checkStoredCertificate(ts: TokenSession, label: string, certificate: Uint8Array): void {
  const record = readKeyState(ts, label);
  if (!record) return;
  if (record.certificateSha256 !== sha256(certificate)) {
    throw tampered(ts, `the OpenPGP certificate stored for key '${label}' is not the one the ceremony stored (it was replaced)`);
  }
}
