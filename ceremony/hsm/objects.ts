/**
 * Objects on a token, below the key logic: finding handles, reading attributes one at a time (a module
 * may refuse one and answer the rest), CKO_DATA objects (PKCS#11 v2.40 §4.5), and an RSA key object's
 * public key.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type * as P from 'pkcs11js';
import { pkcs11 } from './native.js';
import { CeremonyError } from '../errors.js';
import { pkcs11Failure } from './module.js';
import type { TokenSession } from './token.js';

export function readAttrs(ts: TokenSession, handle: Buffer, types: number[]): Map<number, Buffer> {
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

export function findHandles(ts: TokenSession, template: P.Attribute[]): Buffer[] {
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

/** The public key of a key object, from its (public) modulus and exponent. */
export function publicKeyOf(ts: TokenSession, handle: Buffer): KeyObject {
  const a = readAttrs(ts, handle, [pkcs11.CKA_MODULUS, pkcs11.CKA_PUBLIC_EXPONENT]);
  const n = a.get(pkcs11.CKA_MODULUS);
  const e = a.get(pkcs11.CKA_PUBLIC_EXPONENT);
  if (!n || !e) throw new CeremonyError('KEY_UNSUITABLE', `the key on token '${ts.info.label}' does not expose an RSA modulus and exponent`);
  return createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }, format: 'jwk' });
}

/**
 * A CKO_DATA object on the token (the OpenPGP certificate stored beside its key, DESIGN §2), not
 * modifiable (issue 10): a new value replaces the object (destroy, create). A private one (`private:
 * true`) needs the user PIN to be created, read or destroyed (PKCS#11 v2.40 §4.4 CKA_PRIVATE).
 */
export function writeDataObject(ts: TokenSession, opts: { label: string; application: string; value: Buffer; private?: boolean }): void {
  const template: P.Attribute[] = [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_DATA },
    { type: pkcs11.CKA_TOKEN, value: true },
    { type: pkcs11.CKA_PRIVATE, value: opts.private ?? false },
    { type: pkcs11.CKA_MODIFIABLE, value: false },
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
