/**
 * The desk's backup and restore handlers (issue 11), in the Renew key workspace beside the renewal and
 * taking their shares through the same share entry (renewAddShare, one quorum session at a time).
 *
 * Paths come only from native dialogs: the backup file to write is chosen when the backup is opened
 * (before any share is presented; the core refuses to replace a file), the backup file to restore when the
 * restore is opened. PINs arrive as strings, become bytes at once and are wiped here after the job, as the
 * worker wipes its copies; the shares are wiped with the session, whatever the outcome.
 */
import { basename } from 'node:path';
import { wipe } from '../ceremony/crypto.js';
import { CeremonyError } from '../ceremony/errors.js';
import type { ExpectedSet } from '../ceremony/quorum/index.js';
import type { Dialogs, DeskConfig, DeskDeps } from './desk-deps.js';
import type { CallContext, Handlers } from './ipc.js';
import type { JobProgress } from './worker/host.js';

export type QuorumPurpose = 'renew' | 'backup' | 'restore';

/** What the backup handlers need of the desk: its config, air-gap rule, worker and the one quorum session. */
export interface QuorumDesk {
  dialogs: Dialogs;
  worker: DeskDeps['worker'];
  needConfig(): DeskConfig;
  /** DESIGN §5: refused on a networked machine unless the operator overrode it (recorded). */
  requireGap(): void;
  recordDir(c: DeskConfig): string;
  relay(ctx: CallContext, jobId: () => string): (p: JobProgress) => void;
  overridden(): boolean;
  /** Start the quorum session for `purpose` (ending any other); shares are checked against `expected`. */
  openQuorum(purpose: QuorumPurpose, expected: ExpectedSet): void;
  /** The shares presented to the session of `purpose`; refused unless k were accepted. */
  sharesFor(purpose: QuorumPurpose): { source: string; text: Uint8Array }[];
  /** Wipe the shares and forget the session. */
  endSession(): void;
  /** A ceremony wrote this record (the "Open the record" button opens it). */
  recorded(folder: string): void;
}

type BackupHandlers = Pick<Handlers, 'backupOpen' | 'backupRun' | 'restoreOpen' | 'restoreRun'>;

export function backupHandlers(d: QuorumDesk): BackupHandlers {
  let outFile: string | undefined;
  let backupFile: string | undefined;

  /** Run a ceremony job with the session's shares and the PINs; the PIN bytes and the session end after it. */
  async function runWith<T>(ctx: CallContext, pins: Uint8Array[], start: (relay: (p: JobProgress) => void) => { id: string; result: Promise<T> }): Promise<T> {
    try {
      let id = '';
      const job = start(d.relay(ctx, () => id));
      id = job.id;
      return await job.result;
    } finally {
      wipe(...pins);
      d.endSession();
    }
  }

  return {
    backupOpen: async (_req, ctx) => {
      const c = d.needConfig();
      d.requireGap();
      d.endSession();
      const path = await d.dialogs.saveFile('save-backup', 'Choose where to write the backup file (a new file)', 'keys.backup');
      if (!path) return null;
      let id = '';
      const job = d.worker.run('backup.open', { configFile: c.file }, d.relay(ctx, () => id));
      id = job.id;
      const { view, expected } = await job.result;
      outFile = path;
      backupFile = undefined;
      d.openQuorum('backup', expected);
      return { purpose: 'backup', savesAs: path, ...view };
    },
    backupRun: async (req, ctx) => {
      const signingPin = Buffer.from(req.signingPin, 'utf8');
      let c: DeskConfig;
      let shares: { source: string; text: Uint8Array }[];
      try {
        c = d.needConfig();
        d.requireGap();
        if (!outFile) throw new CeremonyError('USAGE', 'open the backup first');
        shares = d.sharesFor('backup');
      } catch (e) {
        wipe(signingPin);
        throw e;
      }
      const out = outFile!;
      outFile = undefined;
      const outcome = await runWith(ctx, [signingPin], (relay) =>
        d.worker.run('backup.run', { configFile: c.file, outFile: out, shares, signingPin, recordDir: d.recordDir(c), allowNetwork: d.overridden() }, relay),
      );
      d.recorded(outcome.record.folder);
      return outcome;
    },
    restoreOpen: async (_req, ctx) => {
      const c = d.needConfig();
      d.requireGap();
      d.endSession();
      const file = await d.dialogs.openFile('backup-file', 'Open the backup file to restore');
      if (!file) return null;
      let id = '';
      const job = d.worker.run('restore.open', { configFile: c.file, backupFile: file }, d.relay(ctx, () => id));
      id = job.id;
      const { view, expected } = await job.result;
      backupFile = file;
      outFile = undefined;
      d.openQuorum('restore', expected);
      return { ...view, file: basename(file) };
    },
    restoreRun: async (req, ctx) => {
      const signingPin = Buffer.from(req.signingPin, 'utf8');
      const soPin = Buffer.from(req.soPin, 'utf8');
      let c: DeskConfig;
      let shares: { source: string; text: Uint8Array }[];
      try {
        c = d.needConfig();
        d.requireGap();
        if (!backupFile) throw new CeremonyError('USAGE', 'open the backup file first');
        shares = d.sharesFor('restore');
      } catch (e) {
        wipe(signingPin, soPin);
        throw e;
      }
      const file = backupFile;
      backupFile = undefined;
      const outcome = await runWith(ctx, [signingPin, soPin], (relay) =>
        d.worker.run('restore.run', { configFile: c.file, backupFile: file, shares, signingPin, soPin, recordDir: d.recordDir(c), allowNetwork: d.overridden() }, relay),
      );
      d.recorded(outcome.record.folder);
      return outcome;
    },
  };
}
