/**
 * Key backup on the token (issue 11): a backup-able private key (CKA_SENSITIVE, CKA_EXTRACTABLE and
 * CKA_WRAP_WITH_TRUSTED, see keys.ts) may leave the token only wrapped under a key marked CKA_TRUSTED
 * (PKCS#11 v2.40 §4.9 table 36; §4.8 table 34: "CKA_TRUSTED can only be set to CK_TRUE by the SO user").
 *
 * So the wrapping key is made in an SO login from key material derived from the quorum secret, as a
 * *session* object (CKA_TOKEN=false) that is CKA_PRIVATE=false: a public session object outlives the SO's
 * logout (§5.6: C_Logout destroys only private session objects) and is then used by the user login that
 * can see the private keys; it never reaches the token's storage, is sensitive and never extractable, and
 * is destroyed when the backup or restore ends (and at the latest when the session closes). A user
 * session cannot make such a key (SoftHSM 2.6: CKR_ATTRIBUTE_READ_ONLY for CKA_TRUSTED), and wrapping
 * under an untrusted key fails with CKR_KEY_NOT_WRAPPABLE: no maintainer alone can take a key out.
 *
 * Wrapping is CKM_AES_KEY_WRAP_PAD (RFC 5649) of the private key's PKCS#8 encoding.
 */
import type * as P from 'pkcs11js';
import { pkcs11 } from './native.js';
import { CeremonyError } from '../errors.js';
import { ckrName, pkcs11Failure } from './module.js';
import { logoutQuietly, PinAttempts, TokenSession, derivedPinSource } from './token.js';
import { lockedKeyTemplates, toCkDate, type KeyRole } from './keys.js';

/** Room for the wrapped PKCS#8 of an RSA-4096 key (about 2.4 kB) with RFC 5649 padding, and then some. */
const WRAPPED_MAX = 8192;

/** A trusted wrapping key made by the SO for one ceremony: destroy it when done. */
export interface TrustedWrappingKey {
  ts: TokenSession;
  handle: Buffer;
}

/** The template of the AES wrapping key: wrap and unwrap only, never readable, never stored. */
function wrappingKeyTemplate(value: Buffer, trusted: boolean): P.Attribute[] {
  return [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
    { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_AES },
    { type: pkcs11.CKA_TOKEN, value: false },
    { type: pkcs11.CKA_PRIVATE, value: false },
    { type: pkcs11.CKA_LABEL, value: 'ceremony-backup-wrapping-key' },
    { type: pkcs11.CKA_SENSITIVE, value: true },
    { type: pkcs11.CKA_EXTRACTABLE, value: false },
    { type: pkcs11.CKA_WRAP, value: true },
    { type: pkcs11.CKA_UNWRAP, value: true },
    { type: pkcs11.CKA_ENCRYPT, value: false },
    { type: pkcs11.CKA_DECRYPT, value: false },
    { type: pkcs11.CKA_SIGN, value: false },
    { type: pkcs11.CKA_VERIFY, value: false },
    { type: pkcs11.CKA_DERIVE, value: false },
    { type: pkcs11.CKA_VALUE, value },
    ...(trusted ? [{ type: pkcs11.CKA_TRUSTED, value: true }] : []),
  ];
}

/**
 * In an SO login with `soPin`, make the trusted AES wrapping key from `value` (32 bytes derived from the
 * quorum secret), then log the SO out. The session ends logged out; the caller logs the user in next.
 */
export async function createTrustedWrappingKey(ts: TokenSession, soPin: Buffer, value: Buffer, attempts: PinAttempts): Promise<TrustedWrappingKey> {
  logoutQuietly(ts);
  await ts.login(derivedPinSource(soPin), attempts, {}, 'so');
  try {
    const handle = ts.lib.C_CreateObject(ts.handle, wrappingKeyTemplate(value, true));
    return { ts, handle };
  } catch (e) {
    throw pkcs11Failure(e, `creating the trusted wrapping key on token '${ts.info.label}'`);
  } finally {
    logoutQuietly(ts);
  }
}

/**
 * The same AES key without CKA_TRUSTED, as a user session can make it: what a maintainer with the signing
 * PIN alone could do. Wrapping a backup-able key under it must fail (the test of that guard uses this).
 */
export function createUntrustedWrappingKey(ts: TokenSession, value: Buffer): TrustedWrappingKey {
  try {
    return { ts, handle: ts.lib.C_CreateObject(ts.handle, wrappingKeyTemplate(value, false)) };
  } catch (e) {
    throw pkcs11Failure(e, `creating a wrapping key on token '${ts.info.label}'`);
  }
}

/** Destroy the wrapping key (best effort: a session object also dies with its session). */
export function destroyWrappingKey(key: TrustedWrappingKey | undefined): boolean {
  if (!key) return false;
  try {
    key.ts.lib.C_DestroyObject(key.ts.handle, key.handle);
    return true;
  } catch {
    return false;
  }
}

/** C_WrapKey with CKM_AES_KEY_WRAP_PAD; a key the token will not let out is KEY_NOT_WRAPPABLE. */
export function wrapPrivateKey(wrapping: TrustedWrappingKey, keyHandle: Buffer, label: string): Buffer {
  const { ts } = wrapping;
  try {
    return Buffer.from(ts.lib.C_WrapKey(ts.handle, { mechanism: pkcs11.CKM_AES_KEY_WRAP_PAD }, wrapping.handle, keyHandle, Buffer.alloc(WRAPPED_MAX)));
  } catch (e) {
    const ckr = ckrName(e);
    if (ckr === 'CKR_KEY_NOT_WRAPPABLE' || ckr === 'CKR_KEY_UNEXTRACTABLE' || ckr === 'CKR_WRAPPING_KEY_TYPE_INCONSISTENT') {
      throw new CeremonyError(
        'KEY_NOT_WRAPPABLE',
        `token '${ts.info.label}' refused to let key '${label}' leave wrapped (${ckr}): it is never extractable, or the wrapping key is not one the Security Officer marked trusted`,
        { cause: e, ckr },
      );
    }
    throw pkcs11Failure(e, `wrapping key '${label}' on token '${ts.info.label}'`);
  }
}

export interface RestoredKeyAttributes {
  label: string;
  id: Buffer;
  bits: number;
  role: KeyRole;
  startDate: Date | null;
  endDate: Date | null;
}

/**
 * C_UnwrapKey the private key with the template it was generated with (keys.ts lockedKeyTemplates):
 * locked, sign-only, sensitive, and backup-able again (extractable only under a trusted key).
 * CKA_MODIFIABLE=false goes last: SoftHSM 2.6 treats attributes after it in an unwrap template as
 * read-only (CKR_ATTRIBUTE_READ_ONLY), and it is the attribute that must hold afterwards anyway.
 */
export function unwrapPrivateKey(wrapping: TrustedWrappingKey, wrapped: Buffer, a: RestoredKeyAttributes): Buffer {
  const { ts } = wrapping;
  const t = templatesFor(a);
  const last = (list: P.Attribute[]) => [...list.filter((x) => x.type !== pkcs11.CKA_MODIFIABLE), { type: pkcs11.CKA_MODIFIABLE, value: false }];
  const attempts = [
    [...t.priv, t.optional.allowedMechanisms, t.optional.wrapWithTrusted],
    [...t.priv, t.optional.wrapWithTrusted],
  ];
  let lastError: unknown;
  for (const priv of attempts) {
    try {
      return ts.lib.C_UnwrapKey(ts.handle, { mechanism: pkcs11.CKM_AES_KEY_WRAP_PAD }, wrapping.handle, wrapped, last(priv));
    } catch (e) {
      lastError = e;
      const ckr = ckrName(e);
      if (ckr !== 'CKR_ATTRIBUTE_TYPE_INVALID' && ckr !== 'CKR_ATTRIBUTE_VALUE_INVALID') break;
    }
  }
  throw pkcs11Failure(lastError, `unwrapping key '${a.label}' on token '${ts.info.label}'`);
}

/** The public half as generated (keys.ts), with the recorded modulus instead of CKA_MODULUS_BITS. */
export function createPublicHalf(ts: TokenSession, a: RestoredKeyAttributes, modulus: Buffer, exponent: Buffer): Buffer {
  const t = templatesFor(a);
  const pub = t.pub.filter((x) => x.type !== pkcs11.CKA_MODULUS_BITS && x.type !== pkcs11.CKA_PUBLIC_EXPONENT && x.type !== pkcs11.CKA_MODIFIABLE);
  try {
    return ts.lib.C_CreateObject(ts.handle, [
      ...pub,
      { type: pkcs11.CKA_MODULUS, value: modulus },
      { type: pkcs11.CKA_PUBLIC_EXPONENT, value: exponent },
      { type: pkcs11.CKA_MODIFIABLE, value: false },
    ]);
  } catch (e) {
    throw pkcs11Failure(e, `creating the public half of key '${a.label}' on token '${ts.info.label}'`);
  }
}

function templatesFor(a: RestoredKeyAttributes): ReturnType<typeof lockedKeyTemplates> {
  const dates: P.Attribute[] = [];
  if (a.startDate) dates.push({ type: pkcs11.CKA_START_DATE, value: toCkDate(a.startDate) });
  if (a.endDate) dates.push({ type: pkcs11.CKA_END_DATE, value: toCkDate(a.endDate) });
  return lockedKeyTemplates({ label: a.label, id: a.id, bits: a.bits, role: a.role, dates });
}

/**
 * Refuse, before anything is asked or changed, a token whose module cannot wrap keys the way a backup
 * does (openCryptoki 3.8's software token has no CKM_AES_KEY_WRAP_PAD): PKCS#11 v2.40 §5.5 C_GetMechanismList.
 */
export function assertKeyWrapOffered(ts: TokenSession): void {
  let mechanisms: number[];
  try {
    mechanisms = ts.lib.C_GetMechanismList(ts.slot.handle);
  } catch (e) {
    throw pkcs11Failure(e, `listing the mechanisms of token '${ts.info.label}'`);
  }
  if (!mechanisms.includes(pkcs11.CKM_AES_KEY_WRAP_PAD)) {
    throw new CeremonyError(
      'KEY_NOT_WRAPPABLE',
      `token '${ts.info.label}' (module ${ts.module.path}) does not offer CKM_AES_KEY_WRAP_PAD, so its keys cannot be backed up or restored there; nothing was done (README: Backup and restore)`,
    );
  }
}
