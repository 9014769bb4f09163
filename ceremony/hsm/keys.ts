/**
 * RSA keys on a token: generation (non-extractable, sign-only), lookup by URI, validity dates, public
 * export. Date attributes go through pkcs11js directly: graphene's CK_DATE handling is broken.
 * PKCS#11 v2.40 §4.7 (CK_DATE is "YYYYMMDD" as 8 ASCII characters), §4.8–4.9 (key attributes).
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import type * as P from 'pkcs11js';
import { pkcs11 } from './native.js';
import { CeremonyError } from '../errors.js';
import { ckrName, pkcs11Failure } from './module.js';
import type { TokenSession } from './token.js';
import { formatPkcs11Uri, type Pkcs11Uri } from './uri.js';
import { destroyObjectsLabelled, findHandles, readAttrs } from './objects.js';
import { authenticateKey, spkiSha256, writeKeyState } from './key-state.js';
import { DAY_MS, utcDay } from '../dates.js';
import { KEY_ROLES, isBackupRole, type KeyInfo, type KeyRole } from './key-info.js';

// Data objects and the public-key reader live in objects.ts, what a key is in key-info.ts (key-state.ts
// needs it too); keys.ts remains their one import path.
export { destroyObjectsLabelled, listDataObjects, publicKeyOf, readDataObject, writeDataObject } from './objects.js';
export { KEY_ROLES, isBackupRole, type KeyInfo, type KeyProtections, type KeyRole } from './key-info.js';

/**
 * What a key made by this tool has and this one lacks (issue 10), as short phrases for `hsm keys`;
 * empty = locked as the tool locks its keys. `mechanismsUnsupported` says the module cannot restrict.
 */
export function missingProtections(k: Pick<KeyInfo, 'type' | 'protections'>): string[] {
  const p = k.protections;
  const out: string[] = [];
  if (p.modifiable !== false) out.push('modifiable');
  if (p.copyable !== false && p.copyable !== undefined) out.push('copyable');
  if (k.type === 'private') {
    if (p.sensitive !== true) out.push('not sensitive');
    if (p.extractable === true && p.wrapWithTrusted !== true) out.push('extractable without CKA_WRAP_WITH_TRUSTED');
    if (p.signRecover === true) out.push('sign-recover allowed');
    if (p.decrypt === true) out.push('decrypt allowed');
    if (p.unwrap === true) out.push('unwrap allowed');
    if (p.derive === true) out.push('derive allowed');
    if (p.allowedMechanisms !== undefined && (p.allowedMechanisms.length === 0 || p.allowedMechanisms.some((m) => m !== pkcs11.CKM_RSA_PKCS))) {
      out.push('not restricted to CKM_RSA_PKCS');
    }
  }
  return out;
}


export function toCkDate(d: Date): Buffer {
  const s = d.toISOString().slice(0, 10).replace(/-/g, '');
  return Buffer.from(s, 'ascii');
}

export function fromCkDate(b: Buffer | undefined): Date | undefined {
  if (!b || b.length !== 8) return undefined;
  const s = b.toString('ascii');
  if (!/^\d{8}$/.test(s) || s === '00000000') return undefined;
  const d = new Date(`${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}


export interface GenerateOptions {
  label: string;
  bits: 2048 | 4096;
  role: KeyRole;
  /** CKA_ID; random 8 bytes unless given. Locked objects cannot change it later, so it is final here. */
  id?: Buffer;
  /** Validity from today for this many days; none = no dates. */
  validDays?: number;
  now?: Date;
  /** Told when the module refuses an optional protection (e.g. CKA_ALLOWED_MECHANISMS). */
  warn?: (message: string) => void;
}

/** CK_MECHANISM_TYPE array for CKA_ALLOWED_MECHANISMS (PKCS#11 v2.40 §4.7, CK_ULONG native size). */
function mechanismList(...mechs: number[]): Buffer {
  const b = Buffer.alloc(8 * mechs.length);
  mechs.forEach((m, i) => b.writeBigUInt64LE(BigInt(m), i * 8));
  return b;
}

/** The PKCS#11 templates of a locked key pair (issue 10), split so optional parts can be dropped. */
export function lockedKeyTemplates(opts: { label: string; id: Buffer; bits: number; role: KeyRole; dates: P.Attribute[] }): {
  pub: P.Attribute[];
  priv: P.Attribute[];
  /** Attributes a module may not know (PKCS#11 v2.40 additions; openCryptoki 3.8 has none): tried first, dropped on refusal. */
  optional: { allowedMechanisms: P.Attribute; wrapWithTrusted: P.Attribute; notCopyable: P.Attribute };
} {
  // PKCS#11 v2.40 §4.4 (storage objects): CKA_MODIFIABLE=false makes every attribute read-only, so a
  // session without a PIN cannot rewrite the public half's dates or ID; CKA_COPYABLE=false forbids
  // C_CopyObject (a copy could be made with other attributes).
  const common: P.Attribute[] = [
    { type: pkcs11.CKA_TOKEN, value: true },
    { type: pkcs11.CKA_LABEL, value: opts.label },
    { type: pkcs11.CKA_ID, value: opts.id },
    { type: pkcs11.CKA_MODIFIABLE, value: false },
    ...opts.dates,
  ];
  const pub: P.Attribute[] = [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY },
    { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_RSA },
    ...common,
    { type: pkcs11.CKA_PRIVATE, value: false },
    { type: pkcs11.CKA_VERIFY, value: true },
    { type: pkcs11.CKA_VERIFY_RECOVER, value: false },
    { type: pkcs11.CKA_ENCRYPT, value: false },
    { type: pkcs11.CKA_WRAP, value: false },
    { type: pkcs11.CKA_MODULUS_BITS, value: opts.bits },
    { type: pkcs11.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
  ];
  const backup = isBackupRole(opts.role);
  // §4.9 (private keys): sign-only. A backup-able key is CKA_EXTRACTABLE but may leave the token only
  // wrapped under a CKA_TRUSTED key, which only the SO can make (CKA_WRAP_WITH_TRUSTED, §4.9 table 36).
  const priv: P.Attribute[] = [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
    { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_RSA },
    ...common,
    { type: pkcs11.CKA_PRIVATE, value: true },
    { type: pkcs11.CKA_SENSITIVE, value: true },
    { type: pkcs11.CKA_EXTRACTABLE, value: backup },
    { type: pkcs11.CKA_SIGN, value: true },
    { type: pkcs11.CKA_SIGN_RECOVER, value: false },
    { type: pkcs11.CKA_DECRYPT, value: false },
    { type: pkcs11.CKA_UNWRAP, value: false },
    { type: pkcs11.CKA_DERIVE, value: false },
  ];
  return {
    pub,
    priv,
    optional: {
      allowedMechanisms: { type: pkcs11.CKA_ALLOWED_MECHANISMS, value: mechanismList(pkcs11.CKM_RSA_PKCS) },
      wrapWithTrusted: { type: pkcs11.CKA_WRAP_WITH_TRUSTED, value: true },
      notCopyable: { type: pkcs11.CKA_COPYABLE, value: false },
    },
  };
}

/** A template the module refused for an attribute it does not know or accept. */
function templateRefused(e: unknown): boolean {
  const ckr = ckrName(e);
  return ckr === 'CKR_ATTRIBUTE_TYPE_INVALID' || ckr === 'CKR_ATTRIBUTE_VALUE_INVALID' || ckr === 'CKR_TEMPLATE_INCONSISTENT';
}

/**
 * Generate a locked RSA key pair on the token (issue 10): both halves not modifiable and not copyable,
 * the private half CKA_SENSITIVE and sign-only, restricted to CKM_RSA_PKCS where the module knows
 * CKA_ALLOWED_MECHANISMS. Backup-able roles are CKA_EXTRACTABLE with CKA_WRAP_WITH_TRUSTED; a module
 * that refuses CKA_WRAP_WITH_TRUSTED gets a never-extractable key instead (extractable without that
 * guard would let any user session wrap it out), with a warning.
 */
export function generateRsaKeyPair(ts: TokenSession, opts: GenerateOptions): KeyInfo {
  if (opts.bits !== 2048 && opts.bits !== 4096) throw new CeremonyError('USAGE', `key size must be 2048 or 4096 bits, not ${opts.bits}`);
  if (!opts.label || opts.label.length > 128) throw new CeremonyError('USAGE', 'a key needs a label of 1 to 128 characters');
  if (!KEY_ROLES.includes(opts.role)) throw new CeremonyError('USAGE', `unknown key role '${String(opts.role)}'`);
  const existing = findKeys(ts, { object: opts.label, extraPath: [], extraQuery: [] });
  if (existing.length > 0) throw new CeremonyError('USAGE', `token '${ts.info.label}' already has a key labelled '${opts.label}'`);
  const id = opts.id ?? randomBytes(8);
  const dates: P.Attribute[] = [];
  let window: { start: Date; end: Date } | undefined;
  if (opts.validDays !== undefined) {
    if (!Number.isInteger(opts.validDays) || opts.validDays < 1) throw new CeremonyError('USAGE', '--valid-days must be a whole number of days, at least 1');
    const start = utcDay(opts.now ?? new Date());
    const end = new Date(start.getTime() + opts.validDays * DAY_MS);
    dates.push({ type: pkcs11.CKA_START_DATE, value: toCkDate(start) }, { type: pkcs11.CKA_END_DATE, value: toCkDate(end) });
    window = { start, end };
  }
  const t = lockedKeyTemplates({ label: opts.label, id, bits: opts.bits, role: opts.role, dates });
  const backup = isBackupRole(opts.role);
  // Most protective first; each fallback drops what a module may not know (CKA_ALLOWED_MECHANISMS,
  // CKA_COPYABLE, CKA_WRAP_WITH_TRUSTED are PKCS#11 v2.40), and the person is told what was dropped.
  // Without CKA_WRAP_WITH_TRUSTED a backup-able key is made never extractable instead: extractable without
  // that guard would let any user session wrap it out under a key of its own.
  const neverExtractable = t.priv.map((a) => (a.type === pkcs11.CKA_EXTRACTABLE ? { ...a, value: false } : a));
  const variants: { mech: boolean; copy: boolean; wwt: boolean }[] = [];
  for (const wwt of backup ? [true, false] : [false]) for (const copy of [true, false]) for (const mech of [true, false]) variants.push({ mech, copy, wwt });
  let handles: P.KeyPair | undefined;
  let lastError: unknown;
  for (const v of variants) {
    const pub = [...t.pub, ...(v.copy ? [t.optional.notCopyable] : [])];
    const priv = [
      ...(backup && !v.wwt ? neverExtractable : t.priv),
      ...(v.mech ? [t.optional.allowedMechanisms] : []),
      ...(v.copy ? [t.optional.notCopyable] : []),
      ...(v.wwt ? [t.optional.wrapWithTrusted] : []),
    ];
    try {
      handles = ts.lib.C_GenerateKeyPair(ts.handle, { mechanism: pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN }, pub, priv);
      if (!v.mech) opts.warn?.(`the module does not accept CKA_ALLOWED_MECHANISMS: key '${opts.label}' is sign-only but not restricted to CKM_RSA_PKCS`);
      if (!v.copy) opts.warn?.(`the module does not accept CKA_COPYABLE: key '${opts.label}' relies on its other attributes (a copy could not change them: it is not modifiable)`);
      if (backup && !v.wwt) opts.warn?.(`the module does not accept CKA_WRAP_WITH_TRUSTED: key '${opts.label}' is made never extractable, so it cannot be backed up`);
      break;
    } catch (e) {
      lastError = e;
      if (!templateRefused(e)) break;
    }
  }
  if (!handles) throw pkcs11Failure(lastError, `generating an RSA-${opts.bits} key on token '${ts.info.label}'`);
  const made = describeKey(ts, handles.privateKey, 'private');
  try {
    // Made in the same logged-in session as the key: from now on the record, not the public half, decides.
    writeKeyState(ts, {
      format: 'ceremony-key-state/1',
      label: opts.label,
      id: id.toString('hex'),
      role: opts.role,
      bits: opts.bits,
      spkiSha256: spkiSha256(ts, handles.privateKey),
      startDate: window ? window.start.toISOString().slice(0, 10) : null,
      endDate: window ? window.end.toISOString().slice(0, 10) : null,
      certificateSha256: null,
    });
  } catch (e) {
    // A key without its record would be refused as tampered at its first use: take it back.
    try {
      destroyObjectsLabelled(ts, opts.label);
    } catch {
      // best effort; the first failure is the one to report
    }
    throw e;
  }
  return { ...made, role: opts.role, state: 'authenticated' };
}

/** CKA_ALLOWED_MECHANISMS as numbers; [] when the module knows the attribute and it is empty. */
function mechanisms(b: Buffer | undefined, known: boolean): number[] | undefined {
  if (!b || b.length === 0) return known ? [] : undefined;
  const out: number[] = [];
  for (let i = 0; i + 8 <= b.length; i += 8) out.push(Number(b.readBigUInt64LE(i)));
  return out;
}

/** Whether the module answers for this attribute at all (an empty value still counts). */
function readable(ts: TokenSession, handle: Buffer, type: number): boolean {
  try {
    ts.lib.C_GetAttributeValue(ts.handle, handle, [{ type }]);
    return true;
  } catch {
    return false;
  }
}

function boolAttr(b: Buffer | undefined): boolean | undefined {
  return b && b.length > 0 ? b[0] !== 0 : undefined;
}

export function describeKey(ts: TokenSession, handle: Buffer, type: 'private' | 'public'): KeyInfo {
  const a = readAttrs(ts, handle, [
    pkcs11.CKA_LABEL,
    pkcs11.CKA_ID,
    pkcs11.CKA_MODULUS,
    pkcs11.CKA_START_DATE,
    pkcs11.CKA_END_DATE,
    pkcs11.CKA_SENSITIVE,
    pkcs11.CKA_EXTRACTABLE,
    pkcs11.CKA_MODIFIABLE,
    pkcs11.CKA_COPYABLE,
    ...(type === 'private'
      ? [pkcs11.CKA_WRAP_WITH_TRUSTED, pkcs11.CKA_SIGN_RECOVER, pkcs11.CKA_DECRYPT, pkcs11.CKA_UNWRAP, pkcs11.CKA_DERIVE, pkcs11.CKA_ALLOWED_MECHANISMS]
      : []),
  ]);
  const label = a.get(pkcs11.CKA_LABEL)?.toString('utf8') ?? '';
  const id = a.get(pkcs11.CKA_ID) ?? Buffer.alloc(0);
  const modulus = a.get(pkcs11.CKA_MODULUS);
  let bits = 0;
  if (modulus) {
    let i = 0;
    while (i < modulus.length && modulus[i] === 0) i++;
    bits = (modulus.length - i) * 8 - (modulus[i] !== undefined ? Math.clz32(modulus[i]!) - 24 : 0);
  }
  let startDate = fromCkDate(a.get(pkcs11.CKA_START_DATE));
  let endDate = fromCkDate(a.get(pkcs11.CKA_END_DATE));
  if (type === 'private' && !startDate && !endDate && id.length > 0) {
    // SoftHSM stores attributes of private objects encrypted and fails (CKR_GENERAL_ERROR) to return
    // their CK_DATE values; the public half carries the same dates, so read them there.
    const [pubHandle] = findHandles(ts, [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY },
      { type: pkcs11.CKA_ID, value: id },
    ]);
    if (pubHandle) {
      const p = readAttrs(ts, pubHandle, [pkcs11.CKA_START_DATE, pkcs11.CKA_END_DATE]);
      startDate = fromCkDate(p.get(pkcs11.CKA_START_DATE));
      endDate = fromCkDate(p.get(pkcs11.CKA_END_DATE));
    }
  }
  const info: KeyInfo = {
    label,
    id,
    type,
    bits,
    startDate,
    endDate,
    sensitive: boolAttr(a.get(pkcs11.CKA_SENSITIVE)),
    extractable: boolAttr(a.get(pkcs11.CKA_EXTRACTABLE)),
    protections: {
      modifiable: boolAttr(a.get(pkcs11.CKA_MODIFIABLE)),
      copyable: boolAttr(a.get(pkcs11.CKA_COPYABLE)),
      sensitive: boolAttr(a.get(pkcs11.CKA_SENSITIVE)),
      extractable: boolAttr(a.get(pkcs11.CKA_EXTRACTABLE)),
      wrapWithTrusted: boolAttr(a.get(pkcs11.CKA_WRAP_WITH_TRUSTED)),
      signRecover: boolAttr(a.get(pkcs11.CKA_SIGN_RECOVER)),
      decrypt: boolAttr(a.get(pkcs11.CKA_DECRYPT)),
      unwrap: boolAttr(a.get(pkcs11.CKA_UNWRAP)),
      derive: boolAttr(a.get(pkcs11.CKA_DERIVE)),
      allowedMechanisms: mechanisms(a.get(pkcs11.CKA_ALLOWED_MECHANISMS), type === 'private' && readable(ts, handle, pkcs11.CKA_ALLOWED_MECHANISMS)),
    },
    uri: formatPkcs11Uri({ token: ts.info.label, object: label || undefined, id: id.length ? id : undefined, type }),
    handle,
  };
  return info;
}

/** RSA keys matching a URI's object/id/type (both halves when no type is given). */
export function findKeys(ts: TokenSession, uri: Pkcs11Uri): KeyInfo[] {
  const types: ('private' | 'public')[] = uri.type === 'private' || uri.type === 'public' ? [uri.type] : ['private', 'public'];
  const out: KeyInfo[] = [];
  for (const type of types) {
    const template: P.Attribute[] = [
      { type: pkcs11.CKA_CLASS, value: type === 'private' ? pkcs11.CKO_PRIVATE_KEY : pkcs11.CKO_PUBLIC_KEY },
      { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_RSA },
    ];
    if (uri.object !== undefined) template.push({ type: pkcs11.CKA_LABEL, value: uri.object });
    if (uri.id !== undefined) template.push({ type: pkcs11.CKA_ID, value: uri.id });
    for (const h of findHandles(ts, template)) out.push(describeKey(ts, h, type));
  }
  return out;
}

function keyName(uri: Pkcs11Uri): string {
  return uri.object ?? (uri.id ? `id ${uri.id.toString('hex')}` : formatPkcs11Uri(uri));
}

/** Exactly one private key for a URI (the session must be logged in to see private objects). */
export function findPrivateKey(ts: TokenSession, uri: Pkcs11Uri): KeyInfo {
  if (uri.object === undefined && uri.id === undefined) {
    throw new CeremonyError('BAD_URI', 'the key URI must name the key with object= or id=');
  }
  const keys = findKeys(ts, { ...uri, type: 'private' });
  if (keys.length === 0) throw new CeremonyError('KEY_NOT_FOUND', `token '${ts.info.label}' has no private key '${keyName(uri)}'`);
  if (keys.length > 1) throw new CeremonyError('KEY_AMBIGUOUS', `token '${ts.info.label}' has ${keys.length} private keys matching '${keyName(uri)}'; add id= to the URI`);
  // Validity and role come from the key's private state record, checked against everything a session
  // without a PIN could have changed (issue 10).
  return authenticateKey(ts, keys[0]!);
}

export function publicKeyPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

export type Validity =
  | { state: 'valid' }
  | { state: 'undated' }
  | { state: 'expired'; endDate: Date }
  | { state: 'not-yet-valid'; startDate: Date };

/** CKA_START_DATE ≤ today ≤ CKA_END_DATE, by UTC day (PKCS#11 dates have no time of day). */
export function keyValidity(key: Pick<KeyInfo, 'startDate' | 'endDate'>, now: Date = new Date()): Validity {
  if (!key.startDate && !key.endDate) return { state: 'undated' };
  const today = utcDay(now).getTime();
  if (key.startDate && today < key.startDate.getTime()) return { state: 'not-yet-valid', startDate: key.startDate };
  if (key.endDate && today > key.endDate.getTime()) return { state: 'expired', endDate: key.endDate };
  return { state: 'valid' };
}

/** Refuse a key outside its validity window; a key without dates is accepted with a warning. */
export function assertKeyUsable(key: KeyInfo, now: Date, warn?: (m: string) => void): void {
  if (key.stateWarning) warn?.(key.stateWarning);
  const v = keyValidity(key, now);
  const day = (d: Date) => d.toISOString().slice(0, 10);
  switch (v.state) {
    case 'expired':
      throw new CeremonyError('KEY_EXPIRED', `key '${key.label}' expired on ${day(v.endDate)} and may no longer sign`, {
        details: { key: key.uri, endDate: day(v.endDate) },
      });
    case 'not-yet-valid':
      throw new CeremonyError('KEY_NOT_YET_VALID', `key '${key.label}' is not valid before ${day(v.startDate)}`, {
        details: { key: key.uri, startDate: day(v.startDate) },
      });
    case 'undated':
      warn?.(`key '${key.label}' carries no validity dates (CKA_START_DATE/CKA_END_DATE); accepting it`);
      return;
    case 'valid':
      return;
  }
}

