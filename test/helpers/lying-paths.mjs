/**
 * Preload for a child process (`node --import ./lying-paths.mjs …`): every look at a path listed in
 * CEREMONY_TEST_LYING_PATHS (JSON array) by statSync, lstatSync, existsSync, accessSync or their
 * promise forms sees the regular file CEREMONY_TEST_DECOY instead. It models an attacker who swaps the
 * file between a check of its path and its open: whatever the path said, only the opened descriptor tells
 * the truth. Opens and reads are left alone. `syncBuiltinESMExports` makes the ESM named imports
 * (`import { statSync } from 'node:fs'`) see the patched functions too.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { resolve } from 'node:path';
import process from 'node:process';
import { URL } from 'node:url';

const lying = new Set(JSON.parse(process.env.CEREMONY_TEST_LYING_PATHS ?? '[]').map((p) => resolve(p)));
const decoy = process.env.CEREMONY_TEST_DECOY;
const lies = (p) => decoy !== undefined && (typeof p === 'string' || p instanceof URL) && lying.has(resolve(String(p)));

for (const name of ['statSync', 'lstatSync']) {
  const real = fs[name];
  fs[name] = (p, ...rest) => real(lies(p) ? decoy : p, ...rest);
}
const realExists = fs.existsSync;
fs.existsSync = (p) => (lies(p) ? true : realExists(p));
const realAccess = fs.accessSync;
fs.accessSync = (p, ...rest) => realAccess(lies(p) ? decoy : p, ...rest);
for (const name of ['stat', 'lstat', 'access']) {
  const real = fs.promises[name];
  fs.promises[name] = (p, ...rest) => real(lies(p) ? decoy : p, ...rest);
}
syncBuiltinESMExports();
