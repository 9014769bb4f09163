/**
 * The backup ceremony (issue 11): k custodians and a maintainer take every backup-able key off both
 * tokens, wrapped, into one authenticated file.
 *
 *   k shares checked against the set in force (as in renew) → PINs and backup keys derived →
 *   root user login, quorum set checked with the root key → maintainer login on the signing token →
 *   per token: SO login makes the trusted AES wrapping key, user login wraps every backup-able key
 *   (CKM_AES_KEY_WRAP_PAD), the wrapping key is destroyed → the file is MACed and created (never replacing one).
 *
 * Nothing on the tokens changes except a session object that lives for the wrap. Keys that cannot
 * leave (never extractable: made before issue 11, or standalone OpenPGP keys) are named, not skipped silently.
 *
 * Shape, as renew.ts: `openBackup` checks what a backup needs (before the record opens), the steps of
 * backup-steps.ts and backup-restore-steps.ts run in order over one `BackupState`, and `runBackup` alone,
 * on every path, wipes the secrets and closes the sessions.
 */
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { CeremonyError } from '../errors.js';
import { openModule, resolveModulePath, type Pkcs11Module } from '../hsm/module.js';
import { PinAttempts, TokenSession } from '../hsm/token.js';
import { choosePinSource, RememberedPin } from '../hsm/pin.js';
import { assertKeyWrapOffered } from '../hsm/wrap.js';
import { QuorumSession, signingSoHolder, type QuorumSetDescriptor } from '../quorum/index.js';
import type { RecordSealer } from '../audit/seal.js';
import type { CeremonyConfig } from '../config.js';
import { CeremonyRun, withCeremony, type CeremonyContext } from './runner.js';
import { chooseSealKey, hsmSealer } from './seal-key.js';
import { readQuorumState } from './quorum-state.js';
import { collectShares, derivePinsAndBackupKeys, releaseKeyCustody } from './backup-restore-steps.js';
import { loadConfig, loginSigningToken, unlockRootKey, wrapKeys, writeBackup } from './backup-steps.js';
import type { BackupOptions, BackupResult, BackupState } from './backup-restore-state.js';

export type { BackupOptions, BackupResult } from './backup-restore-state.js';

/**
 * What a backup needs before any share is asked for, read from public objects (no login): both tokens
 * offer CKM_AES_KEY_WRAP_PAD, and the signing token's SO PIN is held by the quorum. Returns the state of
 * the set in force, whose shares the backup takes.
 */
function checkBackupPossible(mod: Pkcs11Module, root: TokenSession, config: CeremonyConfig): ReturnType<typeof readQuorumState> {
  assertKeyWrapOffered(root);
  const signingPublic = TokenSession.open(mod, { token: config.hsm.signingToken, extraPath: [], extraQuery: [] }, false);
  try {
    assertKeyWrapOffered(signingPublic);
  } finally {
    signingPublic.close();
  }
  const state = readQuorumState(root);
  if (signingSoHolder(state.descriptor) !== 'quorum') {
    throw new CeremonyError('USAGE', `the SO PIN of token '${config.hsm.signingToken}' is still a person's (set made before SO PINs were quorum-held): a renewal hands it to the quorum; back up after it`);
  }
  return state;
}

/**
 * The set whose shares a backup takes, checked as runBackup checks it before asking for shares: what the
 * app shows when a backup is opened, so the custodians' shares can be checked one by one as they arrive.
 */
export function backupSetInForce(config: CeremonyConfig, o: Pick<CeremonyContext, 'module' | 'env'>): QuorumSetDescriptor {
  const mod = openModule(resolveModulePath({ flag: config.hsm.module ?? o.module, env: o.env }));
  const root = TokenSession.open(mod, { token: config.hsm.rootToken, extraPath: [], extraQuery: [] }, false);
  try {
    return checkBackupPossible(mod, root, config).descriptor;
  } finally {
    root.close();
  }
}

export async function runBackup(o: BackupOptions): Promise<BackupResult> {
  const s = openBackup(o);
  try {
    const { value, sealed } = await withCeremony(
      s.run,
      async () => {
        loadConfig(s);
        await collectShares(s);
        await derivePinsAndBackupKeys(s, 'derived the root PINs, the SO PINs of both tokens, the wrapping key and the file MAC key (HKDF-SHA-256); no person knows any of them');
        await unlockRootKey(s);
        await loginSigningToken(s);
        await wrapKeys(s);
        return writeBackup(s);
      },
      () => s.sealer,
      () => sealRefusal(s),
    );
    return { ...value, record: sealed };
  } finally {
    releaseKeyCustody(s);
  }
}

/**
 * The output refused if it exists, then what is in force, from the tokens alone (public objects), then
 * the record opens. The root session is closed again if anything here fails (the set in force refused,
 * no PIN source, a record that cannot start); once the state is returned, runBackup's finally closes it.
 */
function openBackup(o: BackupOptions): BackupState {
  const { config } = o;
  const outFile = resolve(o.outFile);
  if (existsSync(outFile)) throw new CeremonyError('OUTPUT_EXISTS', `${outFile} already exists; a backup never overwrites a file`);
  const mod = openModule(resolveModulePath({ flag: config.hsm.module ?? o.module, env: o.env }));
  const now = o.now();
  const root = TokenSession.open(mod, { token: config.hsm.rootToken, extraPath: [], extraQuery: [] });
  try {
    const state = checkBackupPossible(mod, root, config);
    const inForce = state.descriptor;
    const signingPin = new RememberedPin(choosePinSource({ pinFile: o.pinFile, env: o.env, stdin: o.stdin }));
    const run = CeremonyRun.start({
      ...o,
      kind: 'backup',
      command: 'ceremony backup',
      quorum: { threshold: inForce.threshold, total: inForce.custodians.length, custodians: inForce.custodians },
    });
    return {
      o, mod, now, outFile, root, run, signingPin,
      inForce: state,
      set: inForce,
      attempts: new PinAttempts(),
      session: new QuorumSession(inForce),
      tokens: [],
      notBackedUp: [],
    };
  } catch (e) {
    // Until the state is returned, runBackup's finally cannot close the root session: close it here.
    root.close();
    throw e;
  }
}

/**
 * Refused before the root key was unlocked (too few shares, shares of another set): the maintainer's
 * PIN reaches the signing token, whose current signing key seals the record of the refusal, as at a
 * renewal. Never after a wrong PIN: each try costs one on the token.
 */
async function sealRefusal(s: BackupState): Promise<RecordSealer | undefined> {
  const { o, attempts, signingPin } = s;
  const { config } = o;
  if (s.signing || attempts.wrong > 0 || s.run.record.failedStep === 'hsm-login') return undefined;
  const ts = TokenSession.open(s.mod, { token: config.hsm.signingToken, extraPath: [], extraQuery: [] });
  s.signing = ts;
  if (signingPin.interactive) o.reporter.warn('the PIN of the signing token is asked only to seal the record of this refusal (Ctrl-C leaves it unsealed)');
  await ts.login(signingPin, attempts, { warn: (m) => o.reporter.warn(m) });
  return hsmSealer(ts, await chooseSealKey(ts, { now: o.now() }), o.now);
}
