#!/usr/bin/env node
/**
 * An attacker without any PIN (issue 10): a process of its own that opens a read/write session on a token
 * and never logs in, then changes public objects as any local process could. Separate from the test
 * process on purpose: PKCS#11 login state is shared by all sessions of one process (v2.40 §5.6), so an
 * in-process "attacker" would borrow the ceremony's login.
 *
 *   node pkcs11-attacker.mjs MODULE TOKEN ACTION ...ARGS
 *   edit-dates LABEL YYYYMMDD          set CKA_END_DATE of the public key LABEL in place
 *   replace-public LABEL FIELD VALUE   delete the public key LABEL, create a look-alike with FIELD changed
 *                                      (FIELD: end-date YYYYMMDD | id HEX | bits N: another key's modulus of N bits)
 *   replace-data LABEL APPLICATION FILE  delete the data object, create one holding FILE's bytes
 *   read-data LABEL APPLICATION FILE     write the public data object's value to FILE (to put it back after)
 * Prints one JSON line: {"ok":true,...} or {"ok":false,"error":"CKR_..."}.
 */
import { Buffer } from 'node:buffer';
import { readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import process from 'node:process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkcs11js = require('pkcs11js');
const P = pkcs11js;
const [modulePath, tokenLabel, action, ...args] = process.argv.slice(2);
const lib = new P.PKCS11();
lib.load(modulePath);
lib.C_Initialize();

function out(o) {
  process.stdout.write(JSON.stringify(o) + '\n');
}

function find(session, template) {
  lib.C_FindObjectsInit(session, template);
  const found = lib.C_FindObjects(session, 64);
  lib.C_FindObjectsFinal(session);
  return found;
}

/** The modulus of a fresh RSA key of `bits` bits, big-endian. */
function otherModulus(bits) {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return Buffer.from(publicKey.export({ format: 'jwk' }).n, 'base64url');
}

function attr(session, h, type) {
  try {
    return lib.C_GetAttributeValue(session, h, [{ type }])[0].value;
  } catch {
    return undefined;
  }
}

try {
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === tokenLabel);
  if (slot === undefined) throw new Error(`no token ${tokenLabel}`);
  const session = lib.C_OpenSession(slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION);
  if (action === 'edit-dates') {
    const [label, end] = args;
    const [h] = find(session, [{ type: P.CKA_CLASS, value: P.CKO_PUBLIC_KEY }, { type: P.CKA_LABEL, value: label }]);
    lib.C_SetAttributeValue(session, h, [{ type: P.CKA_END_DATE, value: Buffer.from(end, 'ascii') }]);
    out({ ok: true, changed: 'CKA_END_DATE' });
  } else if (action === 'replace-public') {
    const [label, field, value] = args;
    const [h] = find(session, [{ type: P.CKA_CLASS, value: P.CKO_PUBLIC_KEY }, { type: P.CKA_LABEL, value: label }]);
    const keep = {
      modulus: attr(session, h, P.CKA_MODULUS),
      exponent: attr(session, h, P.CKA_PUBLIC_EXPONENT),
      id: attr(session, h, P.CKA_ID),
      start: attr(session, h, P.CKA_START_DATE),
      end: attr(session, h, P.CKA_END_DATE),
    };
    lib.C_DestroyObject(session, h);
    const template = [
      { type: P.CKA_CLASS, value: P.CKO_PUBLIC_KEY },
      { type: P.CKA_KEY_TYPE, value: P.CKK_RSA },
      { type: P.CKA_TOKEN, value: true },
      { type: P.CKA_PRIVATE, value: false },
      { type: P.CKA_LABEL, value: label },
      { type: P.CKA_ID, value: field === 'id' ? Buffer.from(value, 'hex') : keep.id },
      { type: P.CKA_MODULUS, value: field === 'bits' ? otherModulus(Number(value)) : keep.modulus },
      { type: P.CKA_PUBLIC_EXPONENT, value: keep.exponent },
      { type: P.CKA_VERIFY, value: true },
      ...(keep.start?.length === 8 ? [{ type: P.CKA_START_DATE, value: keep.start }] : []),
      { type: P.CKA_END_DATE, value: field === 'end-date' ? Buffer.from(value, 'ascii') : keep.end },
    ];
    lib.C_CreateObject(session, template);
    out({ ok: true, replaced: field });
  } else if (action === 'replace-data') {
    const [label, application, file] = args;
    for (const h of find(session, [{ type: P.CKA_CLASS, value: P.CKO_DATA }, { type: P.CKA_LABEL, value: label }, { type: P.CKA_APPLICATION, value: application }])) {
      lib.C_DestroyObject(session, h);
    }
    lib.C_CreateObject(session, [
      { type: P.CKA_CLASS, value: P.CKO_DATA },
      { type: P.CKA_TOKEN, value: true },
      { type: P.CKA_PRIVATE, value: false },
      { type: P.CKA_LABEL, value: label },
      { type: P.CKA_APPLICATION, value: application },
      { type: P.CKA_VALUE, value: readFileSync(file) },
    ]);
    out({ ok: true, replaced: label });
  } else if (action === 'read-data') {
    const [label, application, file] = args;
    const [h] = find(session, [{ type: P.CKA_CLASS, value: P.CKO_DATA }, { type: P.CKA_LABEL, value: label }, { type: P.CKA_APPLICATION, value: application }]);
    if (h === undefined) throw new Error(`no data object ${label}`);
    writeFileSync(file, attr(session, h, P.CKA_VALUE));
    out({ ok: true, read: label });
  } else {
    throw new Error(`unknown action ${action}`);
  }
  lib.C_CloseSession(session);
} catch (e) {
  const m = /CKR_[A-Z_]+(:\d+)?/.exec(String(e?.message ?? e));
  out({ ok: false, error: m ? m[0] : String(e?.message ?? e) });
} finally {
  lib.C_Finalize();
}
