/**
 * The types of the backup and restore ceremonies (DESIGN §3 "Backup / restore", issue 11): what the caller
 * gives and gets back, and the one state each ceremony's steps share. Apart from the ceremonies and their
 * steps (backup.ts, backup-steps.ts, restore.ts, restore-steps.ts, backup-restore-steps.ts) so that all of
 * them import it and none imports another's types.
 */
import type { Pkcs11Module } from '../hsm/module.js';
import type { PinAttempts, TokenSession } from '../hsm/token.js';
import type { PinSource, RememberedPin } from '../hsm/pin.js';
import type { BackupKeys, QuorumPins, QuorumSession, QuorumSetDescriptor } from '../quorum/index.js';
import type { SealedRecord } from '../audit/record.js';
import type { RecordSealer } from '../audit/seal.js';
import type { CeremonyConfig } from '../config.js';
import type { CeremonyContext, CeremonyRun } from './runner.js';
import type { ShareInputs } from './quorum-shares.js';
import type { QuorumState } from './quorum-state.js';
import type { BackupBody, BackupToken, OpenedBackup } from './backup-file.js';

export interface BackupOptions extends CeremonyContext, ShareInputs {
  config: CeremonyConfig;
  /** `--out`: the backup file to create (refused if it exists). */
  outFile: string;
}

export interface BackupResult {
  record: SealedRecord;
  path: string;
  setId: string;
  keys: { token: string; label: string; role: string }[];
  notBackedUp: { token: string; label: string; reason: string }[];
}

export interface RestoreOptions extends CeremonyContext, ShareInputs {
  config: CeremonyConfig;
  /** `--backup`: the backup file. */
  backupFile: string;
  /** `--so-pin-file`: the fresh signing token's SO PIN as the operators set it (else CEREMONY_SO_PIN or a prompt). */
  soPinFile?: string;
}

export interface RestoreResult {
  record: SealedRecord;
  setId: string;
  restored: { token: string; label: string; role: string }[];
}

/**
 * What a backup and a restore share: k shares of one set open a quorum session, whose secret gives the
 * tokens' PINs and the backup keys; the maintainer's PIN opens the signing token. Whatever the ceremony's
 * end, `releaseKeyCustody` (backup-restore-steps.ts) wipes these secrets and closes both sessions.
 */
export interface KeyCustodyState {
  readonly o: BackupOptions | RestoreOptions;
  readonly mod: Pkcs11Module;
  readonly run: CeremonyRun;
  readonly attempts: PinAttempts;
  /** The set whose shares the ceremony takes: the one in force (backup), the one in the file (restore). */
  readonly set: QuorumSetDescriptor;
  readonly session: QuorumSession;
  /** The maintainer's PIN of the signing token; remembered for the user login after its SO's. */
  readonly signingPin: RememberedPin;

  // Secrets: wiped on every path.
  secret?: Buffer;
  pins?: QuorumPins;
  keys?: BackupKeys;

  // Sessions: closed on every path.
  root?: TokenSession;
  signing?: TokenSession;

  sealer?: RecordSealer;
}

/** One backup in progress: what `openBackup` read before the record opened, and what each step made. */
export interface BackupState extends KeyCustodyState {
  readonly o: BackupOptions;
  /** Read once: the backup's creation time and the root key's sealer use it. */
  readonly now: Date;
  /** `--out`, resolved. */
  readonly outFile: string;
  /** Open since the set in force was checked (public objects); logged in by `unlockRootKey`. */
  readonly root: TokenSession;
  /** The set in force as the root token stores it, before any share. */
  readonly inForce: QuorumState;

  // Made by `wrapKeys`, written by `writeBackup`.
  readonly tokens: BackupToken[];
  readonly notBackedUp: BackupResult['notBackedUp'];
}

/** One restore in progress: the backup file as opened before the record, and what each step made. */
export interface RestoreState extends KeyCustodyState {
  readonly o: RestoreOptions;
  /** The file parsed, not yet authenticated (only its set is read before the MAC is checked). */
  readonly opened: OpenedBackup;
  /** The fresh signing token's SO PIN as the operators set it. */
  readonly operatorSoPin: PinSource;

  /** The file authenticated under the MAC key from the secret (`authenticateBackupFile`). */
  body?: BackupBody;
  readonly restored: RestoreResult['restored'];

  // What a failure before the commit takes back.
  /** The signing token's SO PIN before the restore (the operators'): wiped on every path. */
  oldSigningSo?: Buffer;
  signingSoReplaced: boolean;
  /** Every key object this restore began to make, on whichever token. */
  readonly created: { ts: TokenSession; label: string }[];
  /** Every key restored and self-checked: from here a failure takes nothing back. */
  committed: boolean;
}
