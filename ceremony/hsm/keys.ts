/**
 * RSA keys on a token: generation (non-extractable, sign-only), lookup by URI, validity dates, public
 * export. Date attributes go through pkcs11js directly: graphene's CK_DATE handling is broken.
 * PKCS#11 v2.40 §4.7 (CK_DATE is "YYYYMMDD" as 8 ASCII characters), §4.8–4.9 (key attributes).
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import type * as P from 'pkcs11js';
import { pkcs11 } from './native.js';
import { CeremonyError } from '../errors.js';
import { pkcs11Failure } from './module.js';
import type { TokenSession } from './token.js';
import { formatPkcs11Uri, type Pkcs11Uri } from './uri.js';

export interface KeyInfo {
  label: string;
  id: Buffer;
  type: 'private' | 'public';
  bits: number;
  /** First valid day (UTC midnight), if the key carries CKA_START_DATE. */
  startDate?: Date;
  /** Last valid day (UTC, inclusive), if the key carries CKA_END_DATE. */
  endDate?: Date;
  sensitive?: boolean;
  extractable?: boolean;
  uri: string;
  handle: Buffer;
}

const DAY_MS = 86_400_000;

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

function utcDay(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

export interface GenerateOptions {
  label: string;
  bits: 2048 | 4096;
  /** CKA_ID; random 8 bytes unless given (an OpenPGP key ID is set once the certificate exists). */
  id?: Buffer;
  /** Validity from today for this many days; none = no dates. */
  validDays?: number;
  now?: Date;
}

/**
 * Generate an RSA key pair on the token: the private half is CKA_SENSITIVE, never extractable, and can
 * only sign; the public half can only verify.
 */
export function generateRsaKeyPair(ts: TokenSession, opts: GenerateOptions): KeyInfo {
  if (opts.bits !== 2048 && opts.bits !== 4096) throw new CeremonyError('USAGE', `key size must be 2048 or 4096 bits, not ${opts.bits}`);
  if (!opts.label || opts.label.length > 128) throw new CeremonyError('USAGE', 'a key needs a label of 1 to 128 characters');
  const existing = findKeys(ts, { object: opts.label, extraPath: [], extraQuery: [] });
  if (existing.length > 0) throw new CeremonyError('USAGE', `token '${ts.info.label}' already has a key labelled '${opts.label}'`);
  const id = opts.id ?? randomBytes(8);
  const dates: P.Attribute[] = [];
  if (opts.validDays !== undefined) {
    if (!Number.isInteger(opts.validDays) || opts.validDays < 1) throw new CeremonyError('USAGE', '--valid-days must be a whole number of days, at least 1');
    const start = utcDay(opts.now ?? new Date());
    const end = new Date(start.getTime() + opts.validDays * DAY_MS);
    dates.push({ type: pkcs11.CKA_START_DATE, value: toCkDate(start) }, { type: pkcs11.CKA_END_DATE, value: toCkDate(end) });
  }
  const common: P.Attribute[] = [
    { type: pkcs11.CKA_TOKEN, value: true },
    { type: pkcs11.CKA_LABEL, value: opts.label },
    { type: pkcs11.CKA_ID, value: id },
    ...dates,
  ];
  const pub: P.Attribute[] = [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY },
    { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_RSA },
    ...common,
    { type: pkcs11.CKA_PRIVATE, value: false },
    { type: pkcs11.CKA_VERIFY, value: true },
    { type: pkcs11.CKA_ENCRYPT, value: false },
    { type: pkcs11.CKA_WRAP, value: false },
    { type: pkcs11.CKA_MODULUS_BITS, value: opts.bits },
    { type: pkcs11.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
  ];
  const priv: P.Attribute[] = [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
    { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_RSA },
    ...common,
    { type: pkcs11.CKA_PRIVATE, value: true },
    { type: pkcs11.CKA_SENSITIVE, value: true },
    { type: pkcs11.CKA_EXTRACTABLE, value: false },
    { type: pkcs11.CKA_SIGN, value: true },
    { type: pkcs11.CKA_DECRYPT, value: false },
    { type: pkcs11.CKA_UNWRAP, value: false },
    { type: pkcs11.CKA_DERIVE, value: false },
  ];
  let handles: P.KeyPair;
  try {
    handles = ts.lib.C_GenerateKeyPair(ts.handle, { mechanism: pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN }, pub, priv);
  } catch (e) {
    throw pkcs11Failure(e, `generating an RSA-${opts.bits} key on token '${ts.info.label}'`);
  }
  return describeKey(ts, handles.privateKey, 'private');
}

function readAttrs(ts: TokenSession, handle: Buffer, types: number[]): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const type of types) {
    try {
      const [r] = ts.lib.C_GetAttributeValue(ts.handle, handle, [{ type }]);
      if (r?.value) out.set(type, r.value);
    } catch {
      // attribute absent or sensitive: leave it out
    }
  }
  return out;
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
    uri: formatPkcs11Uri({ token: ts.info.label, object: label || undefined, id: id.length ? id : undefined, type }),
    handle,
  };
  return info;
}

function findHandles(ts: TokenSession, template: P.Attribute[]): Buffer[] {
  try {
    ts.lib.C_FindObjectsInit(ts.handle, template);
    const out: Buffer[] = [];
    for (;;) {
      const batch = ts.lib.C_FindObjects(ts.handle, 64);
      if (batch.length === 0) break;
      out.push(...batch);
    }
    ts.lib.C_FindObjectsFinal(ts.handle);
    return out;
  } catch (e) {
    throw pkcs11Failure(e, `searching token '${ts.info.label}'`);
  }
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
  return keys[0]!;
}

/** The public key of a key object, from its (public) modulus and exponent. */
export function publicKeyOf(ts: TokenSession, handle: Buffer): KeyObject {
  const a = readAttrs(ts, handle, [pkcs11.CKA_MODULUS, pkcs11.CKA_PUBLIC_EXPONENT]);
  const n = a.get(pkcs11.CKA_MODULUS);
  const e = a.get(pkcs11.CKA_PUBLIC_EXPONENT);
  if (!n || !e) throw new CeremonyError('KEY_UNSUITABLE', `the key on token '${ts.info.label}' does not expose an RSA modulus and exponent`);
  return createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }, format: 'jwk' });
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

/** Set attributes after the fact (e.g. CKA_ID once the OpenPGP key ID is known). */
export function setKeyAttributes(ts: TokenSession, handle: Buffer, attrs: P.Attribute[]): void {
  try {
    ts.lib.C_SetAttributeValue(ts.handle, handle, attrs);
  } catch (e) {
    throw pkcs11Failure(e, `updating a key on token '${ts.info.label}'`);
  }
}

/** A CKO_DATA object on the token (the OpenPGP certificate stored beside its key, DESIGN §2). */
export function writeDataObject(ts: TokenSession, opts: { label: string; application: string; value: Buffer }): void {
  const template: P.Attribute[] = [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_DATA },
    { type: pkcs11.CKA_TOKEN, value: true },
    { type: pkcs11.CKA_PRIVATE, value: false },
    { type: pkcs11.CKA_MODIFIABLE, value: true },
    { type: pkcs11.CKA_LABEL, value: opts.label },
    { type: pkcs11.CKA_APPLICATION, value: opts.application },
    { type: pkcs11.CKA_VALUE, value: opts.value },
  ];
  try {
    for (const h of findHandles(ts, [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_DATA },
      { type: pkcs11.CKA_LABEL, value: opts.label },
      { type: pkcs11.CKA_APPLICATION, value: opts.application },
    ])) {
      ts.lib.C_DestroyObject(ts.handle, h);
    }
    ts.lib.C_CreateObject(ts.handle, template);
  } catch (e) {
    throw pkcs11Failure(e, `storing data object '${opts.label}' on token '${ts.info.label}'`);
  }
}

export function readDataObject(ts: TokenSession, opts: { label: string; application: string }): Buffer | undefined {
  const [h] = findHandles(ts, [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_DATA },
    { type: pkcs11.CKA_LABEL, value: opts.label },
    { type: pkcs11.CKA_APPLICATION, value: opts.application },
  ]);
  if (!h) return undefined;
  return readAttrs(ts, h, [pkcs11.CKA_VALUE]).get(pkcs11.CKA_VALUE);
}

export function listDataObjects(ts: TokenSession, application: string): { label: string; value: Buffer }[] {
  return findHandles(ts, [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_DATA },
    { type: pkcs11.CKA_APPLICATION, value: application },
  ]).map((h) => {
    const a = readAttrs(ts, h, [pkcs11.CKA_LABEL, pkcs11.CKA_VALUE]);
    return { label: a.get(pkcs11.CKA_LABEL)?.toString('utf8') ?? '', value: a.get(pkcs11.CKA_VALUE) ?? Buffer.alloc(0) };
  });
}

/** Destroy every object labelled `label` (both key halves and data objects): rolling back a failed ceremony. */
export function destroyObjectsLabelled(ts: TokenSession, label: string): number {
  const handles = findHandles(ts, [{ type: pkcs11.CKA_LABEL, value: label }]);
  for (const h of handles) {
    try {
      ts.lib.C_DestroyObject(ts.handle, h);
    } catch (e) {
      throw pkcs11Failure(e, `removing '${label}' from token '${ts.info.label}'`);
    }
  }
  return handles.length;
}
