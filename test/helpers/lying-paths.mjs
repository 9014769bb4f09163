/**
 * Preload for a child process (`node --import ./lying-paths.mjs …`): every look at a path listed in
 * CEREMONY_TEST_LYING_PATHS (JSON array) by statSync, lstatSync, existsSync, accessSync or their
 * promise forms sees the regular file CEREMONY_TEST_DECOY instead. It models an attacker who swaps the
 * file between a check of its path and its open: whatever the path said, only the opened descriptor tells
 * the truth. Paths in CEREMONY_TEST_ABSENT_PATHS look absent to the same checks (ENOENT), as if a file
 * were planted there only after the check. Opens, reads and writes are left alone. `syncBuiltinESMExports` makes the ESM named imports
 * (`import { statSync } from 'node:fs'`) see the patched functions too.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { resolve } from 'node:path';
import process from 'node:process';
import { URL } from 'node:url';

const lying = new Set(JSON.parse(process.env.CEREMONY_TEST_LYING_PATHS ?? '[]').map((p) => resolve(p)));
const decoy = process.env.CEREMONY_TEST_DECOY;
const absent = new Set(JSON.parse(process.env.CEREMONY_TEST_ABSENT_PATHS ?? '[]').map((p) => resolve(p)));
const hidden = (p) => (typeof p === 'string' || p instanceof URL) && absent.has(resolve(String(p)));
const enoent = (p) => Object.assign(new Error(`ENOENT: no such file or directory, stat '${p}'`), { code: 'ENOENT', errno: -2, syscall: 'stat', path: String(p) });
const lies = (p) => decoy !== undefined && (typeof p === 'string' || p instanceof URL) && lying.has(resolve(String(p)));

for (const name of ['statSync', 'lstatSync']) {
  const real = fs[name];
  fs[name] = (p, ...rest) => {
    if (hidden(p)) throw enoent(p);
    return real(lies(p) ? decoy : p, ...rest);
  };
}
const realExists = fs.existsSync;
fs.existsSync = (p) => (hidden(p) ? false : lies(p) ? true : realExists(p));
const realAccess = fs.accessSync;
fs.accessSync = (p, ...rest) => {
  if (hidden(p)) throw enoent(p);
  return realAccess(lies(p) ? decoy : p, ...rest);
};
for (const name of ['stat', 'lstat', 'access']) {
  const real = fs.promises[name];
  fs.promises[name] = (p, ...rest) => (hidden(p) ? Promise.reject(enoent(p)) : real(lies(p) ? decoy : p, ...rest));
}
syncBuiltinESMExports();
