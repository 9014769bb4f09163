#!/usr/bin/env node
/**
 * Token set-up the way an operator does it with a vendor's tool (pkcsconf for openCryptoki), as a child
 * process so it can run inside the openCryptoki test namespace (test/helpers/opencryptoki.ts):
 *   node pkcs11-admin.mjs MODULE init-token LABEL CURRENT_SO_PIN NEW_SO_PIN USER_PIN
 * initializes the first free slot's token (C_InitToken with the token's current SO PIN, which an
 * openCryptoki software token requires), changes the SO PIN and sets the user PIN (PKCS#11 v2.40 §5.6).
 */
import { createRequire } from 'node:module';
import process from 'node:process';

const require = createRequire(import.meta.url);
const P = require('pkcs11js');
const [modulePath, action, label, currentSo, newSo, userPin] = process.argv.slice(2);
const lib = new P.PKCS11();
lib.load(modulePath);
lib.C_Initialize();
try {
  if (action !== 'init-token') throw new Error(`unknown action ${action}`);
  const slot = lib.C_GetSlotList(true).find((s) => (lib.C_GetTokenInfo(s).flags & P.CKF_TOKEN_INITIALIZED) === 0);
  if (slot === undefined) throw new Error('no free slot');
  lib.C_InitToken(slot, currentSo, label.padEnd(32, ' '));
  const session = lib.C_OpenSession(slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION);
  lib.C_Login(session, P.CKU_SO, currentSo);
  if (newSo !== currentSo) lib.C_SetPIN(session, currentSo, newSo);
  lib.C_InitPIN(session, userPin);
  lib.C_Logout(session);
  lib.C_CloseSession(session);
  process.stdout.write('ok\n');
} catch (e) {
  process.stdout.write(`failed: ${e?.message ?? e}\n`);
  process.exitCode = 1;
} finally {
  lib.C_Finalize();
}
