/**
 * A restore that fails late takes back what it did (restore.ts `rollbackRestore`), on real SoftHSM tokens.
 * The fault: a backup file that authenticates (its MAC made under the key k shares derive, as the backup
 * itself makes it) but one of whose wrapped keys does not unwrap: the last key of the signing token, so by
 * then the restore has initialised the root token, replaced the fresh signing token's SO PIN with the
 * derived one and created the objects of every earlier key on both tokens. Whoever holds k shares can make
 * such a file; a backup written by a faulty tool, or corrupted before its MAC was computed, looks the same.
 *
 * What the rollback promises: the restore is refused with its code, no object of a key the restore began
 * is left on either token, and the signing token's SO PIN is the operators' again (their PIN opens an SO
 * login, the derived one does not), so the operators can re-initialise it and try again.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeSoftHsm, TEST_SO_PIN, type SoftHsm } from '../../helpers/softhsm.js';
import { writeQuorumConfig } from '../../helpers/quorum-config.js';
import { closeModule, openModule } from '../../../ceremony/hsm/module.js';
import { PinAttempts, TokenSession, derivedPinSource } from '../../../ceremony/hsm/token.js';
import { generateRsaKeyPair } from '../../../ceremony/hsm/keys.js';
import { loadConfig } from '../../../ceremony/config.js';
import { runInit } from '../../../ceremony/ceremonies/init.js';
import { runBackup } from '../../../ceremony/ceremonies/backup.js';
import { runRestore } from '../../../ceremony/ceremonies/restore.js';
import { sealBackup, type BackupBody } from '../../../ceremony/ceremonies/backup-file.js';
import { parseStoredQuorumSet } from '../../../ceremony/ceremonies/quorum-state.js';
import { combineShareData, deriveBackupKeys, deriveQuorumPins, parseShare, pinFormatsOf } from '../../../ceremony/quorum/index.js';
import { reviewRecord, verdictPasses } from '../../../ceremony/audit/review.js';
import { isCeremonyError, type CeremonyError } from '../../../ceremony/errors.js';
import type { CeremonyContext } from '../../../ceremony/ceremonies/runner.js';

const PIN = 'maintainer-pin-rollback';
let source: SoftHsm;
let target: SoftHsm;
let work: string;
let undo: (() => void) | undefined;

function context(recordDir: string): CeremonyContext {
  return {
    recordDir,
    allowNetwork: true,
    attended: false,
    env: { CEREMONY_PIN: PIN, CEREMONY_SO_PIN: TEST_SO_PIN },
    reporter: { step() {}, warn() {} },
    now: () => new Date(),
    recordedOptions: [],
  };
}

const shareFiles = ['alice', 'bob'].map((n) => `init/shares/${n}.share`);
const shares = () => shareFiles.map((f) => ({ source: f, text: readFileSync(join(work, f)) }));

/** Point this process's module at `hsm`'s tokens. */
function use(hsm: SoftHsm): void {
  closeModule();
  undo?.();
  undo = hsm.activate();
}

beforeAll(async () => {
  source = makeSoftHsm('ceremony-rollback-src-');
  target = makeSoftHsm('ceremony-rollback-dst-');
  work = join(source.dir, 'work');
  mkdirSync(work);
  writeQuorumConfig(work, { name: 'Rollback Test', email: 'rollback@example.org', threshold: 2, custodians: ['alice', 'bob', 'carol'] });
  source.initToken('signing', PIN);
  use(source);
  await runInit({ ...context(join(work, 'records')), config: loadConfig(join(work, 'config.json')), outDir: join(work, 'init') });
  // A second key on the signing token, so the restore creates one there before it meets the bad one.
  const ts = TokenSession.open(openModule('/usr/lib/softhsm/libsofthsm2.so'), { token: 'signing', extraPath: [], extraQuery: [] });
  try {
    await ts.login(derivedPinSource(Buffer.from(PIN)), new PinAttempts());
    generateRsaKeyPair(ts, { label: 'payload-1', bits: 2048, role: 'payload', validDays: 30, now: new Date() });
  } finally {
    ts.close();
  }
  await runBackup({ ...context(join(work, 'records')), config: loadConfig(join(work, 'config.json')), outFile: join(work, 'keys.backup'), shares: shares() });
}, 300_000);

afterAll(() => {
  closeModule();
  undo?.();
  source?.cleanup();
  target?.cleanup();
});

/** The secret of the backup's set and what it derives, as only k custodians could compute them. */
async function derived() {
  const parsed = shareFiles.map((f) => parseShare(readFileSync(join(work, f)), f));
  const secret = await combineShareData(parsed);
  const setId = parsed[0]!.setId;
  const body = JSON.parse((JSON.parse(readFileSync(join(work, 'keys.backup'), 'utf8')) as { body: string }).body) as BackupBody;
  const set = parseStoredQuorumSet(Buffer.from(body.quorumSet), 'backup');
  return { body, ...deriveQuorumPins(secret, setId, pinFormatsOf(set.descriptor)), ...deriveBackupKeys(secret, setId) };
}

/** Every object label pkcs11-tool lists on a token under a user login (private objects included). */
function labelsOn(token: string, userPin: string): string[] {
  const listed = target.pkcs11Tool(['--token-label', token, '--login', '--pin', userPin, '--list-objects']);
  return [...listed.matchAll(/label:\s+(\S+)/g)].map((m) => m[1]!);
}

function soLogin(pin: string): void {
  target.pkcs11Tool(['--token-label', 'signing', '--session-rw', '--login', '--login-type', 'so', '--so-pin', pin, '--list-objects']);
}

it('a backup that authenticates but whose last wrapped key does not unwrap: refused, every object begun destroyed, the SO PIN back with the operators', async () => {
  const d = await derived();
  const signing = d.body.tokens.find((t) => t.token === 'signing')!;
  const root = d.body.tokens.find((t) => t.token === 'root')!;
  // The restore goes root first, then the signing token key by key: the last key fails after all others exist.
  expect(d.body.tokens.map((t) => t.token)).toEqual(['root', 'signing']);
  expect(root.keys.length).toBeGreaterThan(0);
  expect(signing.keys.length).toBeGreaterThan(1);
  // Which of the signing token's keys is last depends on the order the token listed them in at backup.
  const bad = signing.keys.at(-1)!;
  const wrapped = Buffer.from(bad.wrapped, 'base64');
  wrapped[Math.floor(wrapped.length / 2)]! ^= 0xff;
  bad.wrapped = wrapped.toString('base64');
  writeFileSync(join(work, 'bad-key.backup'), sealBackup(d.body, d.macKey));

  // The operators set up a fresh signing token, as at init, on other hardware.
  target.initToken('signing', PIN);
  use(target);
  const records = join(target.dir, 'records');
  let err: unknown;
  try {
    await runRestore({ ...context(records), config: loadConfig(join(work, 'config.json')), backupFile: join(work, 'bad-key.backup'), shares: shares() });
  } catch (e) {
    err = e;
  }
  expect(isCeremonyError(err), String(err)).toBe(true);
  const refusal = err as CeremonyError;
  expect(refusal.code).toBe('HSM_FAILURE');
  expect(refusal.message).toMatch(new RegExp(`unwrapping key '${bad.label}' on token 'signing'`));
  closeModule();

  // The failure came late: the root token was made (it opens with the derived user PIN) but holds none
  // of the keys, and the fresh signing token is empty again.
  const keyLabels = d.body.tokens.flatMap((t) => t.keys.map((k) => k.label));
  expect(labelsOn('root', d.userPin.toString()).filter((l) => keyLabels.includes(l))).toEqual([]);
  expect(labelsOn('signing', PIN)).toEqual([]);

  // The operators' SO PIN opens the signing token again; the quorum's derived one no longer does.
  expect(() => soLogin(TEST_SO_PIN)).not.toThrow();
  expect(() => soLogin(d.signingSoPin.toString())).toThrow();

  // The record ends failed at the step that met the bad key, with its code, and is sealed by the restored
  // root key before the rollback took that key back: the same key as before the loss, so it reviews as a
  // sealed refusal against the root certificate pinned since init (not as a killed run, 'incomplete').
  const [dir] = readdirSync(records);
  const r = await reviewRecord(join(records, dir!), { trustedCertificates: [readFileSync(join(work, 'init', 'certificate.asc'), 'utf8')] });
  expect(r.outcome).toBe('failed');
  expect(r.refusal).toMatchObject({ step: 'unwrap-keys', code: refusal.code });
  expect(r.summary).toMatch(new RegExp(`refused at step unwrap-keys .*unwrapping key '${bad.label}' on token 'signing'`));
  expect(r.verdict, r.summary).toBe('refused');
  expect(verdictPasses(r.verdict)).toBe(true);
}, 300_000);
