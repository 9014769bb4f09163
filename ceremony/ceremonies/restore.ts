/**
 * The restore ceremony (issue 11): after a token is lost, k custodians (any k of the set the backup was
 * made under: old shares keep working) and a maintainer put every key back onto fresh tokens.
 *
 *   maintainer login on the fresh signing token (operators initialised it, as for init) and refusal of a
 *   token that already holds keys or a root token label already in use → k shares checked against the set
 *   in the backup → backup file authenticated (MAC under a key from the secret) → root token initialised
 *   on a free slot with the derived PINs; the signing token's SO PIN replaced by the derived one → per
 *   token: SO makes the trusted wrapping key, user login unwraps every key with its recorded attributes
 *   (locked, backup-able again), public half, key state record and certificate → the signed quorum set
 *   stored → self-check: each key signs a test digest that verifies with its recorded public half.
 *
 * A failure before the end takes back what was created on the signing token and gives its SO PIN back
 * to the operators; a root token already initialised stays (empty of keys): delete it before retrying.
 *
 * Shape, as renew.ts: the backup file is opened before the record, the steps of restore-steps.ts and
 * backup-restore-steps.ts run in order over one `RestoreState`, and `runRestore` alone takes back what a
 * failure left (key objects, the signing token's SO PIN) and, on every path, wipes the secrets and closes
 * the sessions.
 */
import { CeremonyError } from '../errors.js';
import { wipe } from '../crypto.js';
import { readInputFile } from '../files.js';
import { openModule, resolveModulePath } from '../hsm/module.js';
import { changeSoPin, PinAttempts } from '../hsm/token.js';
import { choosePinSource, chooseSoPinSource, RememberedPin } from '../hsm/pin.js';
import { destroyObjectsLabelled } from '../hsm/keys.js';
import { QuorumSession, type QuorumSetDescriptor } from '../quorum/index.js';
import { CeremonyRun, withCeremony } from './runner.js';
import { parseStoredQuorumSet } from './quorum-state.js';
import { MAX_BACKUP_BYTES, parseBackup } from './backup-file.js';
import { collectShares, derivePinsAndBackupKeys, releaseKeyCustody } from './backup-restore-steps.js';
import {
  authenticateBackupFile,
  commitRestore,
  initRootToken,
  loadConfig,
  loginSigningToken,
  replaceSigningSoPin,
  selfCheckKeys,
  storeQuorumSet,
  unwrapKeys,
} from './restore-steps.js';
import type { RestoreOptions, RestoreResult, RestoreState } from './backup-restore-state.js';

export type { RestoreOptions, RestoreResult } from './backup-restore-state.js';

/**
 * A backup file read and parsed, not yet authenticated: only its set is read before the MAC is checked,
 * for it says which shares can open the file (and the app checks each share against it as it arrives).
 */
export function openBackupFile(backupFile: string): { opened: ReturnType<typeof parseBackup>; descriptor: QuorumSetDescriptor } {
  const opened = parseBackup(readInputFile(backupFile, 'backup file', MAX_BACKUP_BYTES), backupFile);
  const set = parseStoredQuorumSet(Buffer.from(opened.body.quorumSet, 'utf8'), `the quorum set in ${backupFile}`);
  if (set.descriptor.setId !== opened.body.setId) throw new CeremonyError('INPUT_MALFORMED', `${backupFile} names set ${opened.body.setId} but holds the descriptor of set ${set.descriptor.setId}`);
  return { opened, descriptor: set.descriptor };
}

export async function runRestore(o: RestoreOptions): Promise<RestoreResult> {
  const s = openRestore(o);
  try {
    const { value, sealed } = await withCeremony(
      s.run,
      async () => {
        loadConfig(s);
        await loginSigningToken(s);
        await collectShares(s);
        await derivePinsAndBackupKeys(s, 'derived the root PINs, the SO PINs of both tokens, the wrapping key and the file MAC key (HKDF-SHA-256)');
        await authenticateBackupFile(s);
        await initRootToken(s);
        await replaceSigningSoPin(s);
        await unwrapKeys(s);
        storeQuorumSet(s);
        await selfCheckKeys(s);
        return commitRestore(s);
      },
      () => s.sealer,
    );
    return { ...value, record: sealed };
  } catch (e) {
    if (!s.committed) await rollbackRestore(s);
    throw e;
  } finally {
    wipe(s.oldSigningSo);
    releaseKeyCustody(s);
  }
}

/** The backup file parsed and its set read, the PIN sources chosen, then the record opens (no session yet). */
function openRestore(o: RestoreOptions): RestoreState {
  const { config } = o;
  const { opened, descriptor } = openBackupFile(o.backupFile);
  const mod = openModule(resolveModulePath({ flag: config.hsm.module ?? o.module, env: o.env }));
  const signingPin = new RememberedPin(choosePinSource({ pinFile: o.pinFile, env: o.env, stdin: o.stdin }));
  const operatorSoPin = chooseSoPinSource({ soPinFile: o.soPinFile, env: o.env, stdin: o.stdin });
  const run = CeremonyRun.start({
    ...o,
    kind: 'restore',
    command: 'ceremony restore',
    quorum: { threshold: descriptor.threshold, total: descriptor.custodians.length, custodians: descriptor.custodians },
  });
  return {
    o, mod, run, signingPin, opened, operatorSoPin,
    set: descriptor,
    attempts: new PinAttempts(),
    session: new QuorumSession(descriptor),
    restored: [],
    created: [],
    signingSoReplaced: false,
    committed: false,
  };
}

/** Remove every key object begun and, if it was replaced, give the signing token's SO PIN back to the operators. */
async function rollbackRestore(s: RestoreState): Promise<void> {
  const { created, signing, pins } = s;
  const operatorSoPin = s.signingSoReplaced ? s.oldSigningSo : undefined;
  for (const c of created) {
    try {
      destroyObjectsLabelled(c.ts, c.label);
    } catch {
      // best effort; the error that stopped the ceremony is reported
    }
  }
  try {
    if (signing && pins && operatorSoPin) await changeSoPin(signing, pins.signingSoPin, operatorSoPin, new PinAttempts());
  } catch {
    // best effort
  }
}
