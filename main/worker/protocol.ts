/**
 * Messages between the main process and the ceremony worker (a utility process in Electron, a forked Node
 * process in tests). The worker owns the HSM: PKCS#11 modules are loaded once per process (DESIGN §7), and
 * graphene's calls are synchronous, so they must never run on the main process's thread.
 */
import type { ExpectedSet } from '../../ceremony/quorum/index.js';
import type { AuditView, BackupOutcome, InboxView, PinnedCertificateView, QuorumSessionView, QuorumSetView, RenewOutcome, RestoreOutcome, RestoreSessionView, SignOutcome } from '../ipc-contract.js';

/**
 * The renewal's new shares come back to main, never to the renderer: main hands each one out to its
 * custodian (a file the custodian saves), then forgets it.
 */
export interface RenewJobResult extends RenewOutcome {
  /** The share files the renewal wrote under its out dir, one per custodian of the new set. */
  shareFiles: { custodian: string; file: string; encrypted: boolean }[];
}

export interface JobSpecs {
  /** Hash and verify every file of the inbox folder against the pinned build server keys. */
  'inbox.scan': {
    params: { folder: string; trustedKeys: string[]; signingKeyUri: string; module?: string; /** Its builders rule and provenance policy apply (issue 15). */ configFile?: string };
    result: InboxView;
  };
  /**
   * The sign-update ceremony on EVERY file of the inbox folder (listed again by the worker, never a subset
   * chosen elsewhere), one PIN for all: release files get detached OpenPGP signatures, CrAU payloads are
   * signed with the payload key (skipped when there is none). Nothing is signed if any input fails.
   */
  'sign.run': {
    params: {
      folder: string;
      /** The files main's scan showed (read aloud); the folder must still hold exactly these. */
      scanned: string[];
      /** The OpenPGP fingerprint the app's confirmation screen showed (upper-case hex, no spaces). */
      confirmedKey: string;
      payloadKeyUri?: string;
      trustedKeys: string[];
      /** The ceremony config: its builders rule and provenance policy apply (issue 15). */
      configFile?: string;
      signingKeyUri: string;
      module?: string;
      outDir: string;
      recordDir: string;
      allowNetwork: boolean;
      pin: Uint8Array;
    };
    result: SignOutcome;
  };
  /**
   * Open a renewal: read the share set in force from the root token's descriptor and compute the session
   * ID over the current certificate, the new validity window and the new custodian set.
   */
  'renew.open': { params: { configFile: string }; result: { view: QuorumSessionView; expected: ExpectedSet } };
  /** The renewal ceremony once k shares are in (shares and PIN travel as bytes, wiped after use). */
  'renew.run': {
    params: { configFile: string; sessionId: string; shares: { source: string; text: Uint8Array }[]; signingPin: Uint8Array; outDir: string; recordDir: string; allowNetwork: boolean };
    result: RenewJobResult;
  };
  /**
   * Open a backup (issue 11): the set in force on the root token, checked as the backup checks it before
   * any share (both tokens can wrap keys; the signing token's SO PIN is the quorum's).
   */
  'backup.open': { params: { configFile: string }; result: { view: QuorumSetView; expected: ExpectedSet } };
  /** The backup ceremony once k shares are in: every backup-able key wrapped into `outFile` (never replaced). */
  'backup.run': {
    params: { configFile: string; outFile: string; shares: { source: string; text: Uint8Array }[]; signingPin: Uint8Array; recordDir: string; allowNetwork: boolean };
    result: BackupOutcome;
  };
  /** Open a restore: the backup file read and parsed (not yet authenticated: that needs the shares), and its set. */
  'restore.open': { params: { configFile: string; backupFile: string }; result: { view: Omit<RestoreSessionView, 'file'>; expected: ExpectedSet } };
  /** The restore ceremony once k shares are in, onto a fresh signing token (its operators' SO PIN) and a new root token. */
  'restore.run': {
    params: { configFile: string; backupFile: string; shares: { source: string; text: Uint8Array }[]; signingPin: Uint8Array; soPin: Uint8Array; recordDir: string; allowNetwork: boolean };
    result: RestoreOutcome;
  };
  /**
   * The auditor's review of a record folder: the seal against the pinned certificates (none: against the
   * record's own keys/), the artifacts looked for in `artifactsDir` when given.
   */
  'audit.review': { params: AuditParams; result: Omit<AuditView, 'pinnedCertificate'> };
  /** The auditor's HTML report of a record folder. */
  'audit.report': { params: AuditParams; result: { html: string } };
  /** Read and check a certificate the auditor wants to pin: one OpenPGP public certificate, no secret key. */
  'certificate.read': { params: { file: string }; result: Omit<PinnedCertificateView, 'file'> };
}
export type JobName = keyof JobSpecs;

export interface AuditParams {
  folder: string;
  /** Certificate files the auditor pinned, each with the fingerprint shown when it was pinned. */
  trustedKeys: { file: string; fingerprint: string }[];
  artifactsDir?: string;
}

export type ToWorker =
  | { type: 'run'; id: string; job: JobName; params: unknown }
  | { type: 'cancel'; id: string };

export type FromWorker =
  | { type: 'progress'; id: string; step: string; label: string; done: number; total: number }
  | { type: 'done'; id: string; result: unknown }
  | { type: 'failed'; id: string; error: { code: string; message: string } };
