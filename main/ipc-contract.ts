/**
 * THE IPC contract between the renderer (app/) and the main process: every channel, its request schema and
 * its response type, in one file. main validates every request with these zod schemas; app/ imports this
 * file with `import type` only, so no runtime code (and no Node) reaches the renderer; the sandboxed
 * preload (preload.cts) carries a copy of CHANNELS that a unit test keeps equal to this one.
 *
 * Rules the shapes encode:
 * - The renderer never sends a path: files and folders are chosen in main through native dialogs and
 *   remembered there, so a compromised renderer cannot point the core at an arbitrary file.
 * - PINs, shares and passphrases go renderer → main only. No response type has a field that carries one.
 * - Every response is an IpcResult: failures come back as `{ code, message }` (a CeremonyError's code and its
 *   one sentence), never as a thrown Error with a stack.
 */
import { z } from 'zod';

/** Method name on `window.ceremony` → IPC channel. */
export const CHANNELS = {
  airGapStatus: 'airgap:status',
  airGapOverride: 'airgap:override',
  configOpen: 'config:open',
  signChooseInbox: 'sign:choose-inbox',
  signRun: 'sign:run',
  signOpenRecord: 'sign:open-record',
  renewOpen: 'renew:open',
  renewConfirmSession: 'renew:confirm-session',
  renewAddShare: 'renew:add-share',
  renewRun: 'renew:run',
  renewHandOutShare: 'renew:hand-out-share',
  backupOpen: 'backup:open',
  backupRun: 'backup:run',
  restoreOpen: 'restore:open',
  restoreRun: 'restore:run',
  auditOpen: 'audit:open',
  auditPinCertificate: 'audit:pin-certificate',
  auditChooseArtifacts: 'audit:choose-artifacts',
  auditExport: 'audit:export',
  jobCancel: 'job:cancel',
} as const;

/** main → renderer events (the only ones the preload lets through). */
export const EVENTS = { progress: 'job:progress' } as const;

export type ApiMethod = keyof typeof CHANNELS;
export type Channel = (typeof CHANNELS)[ApiMethod];

// Limits for everything the renderer may send (DESIGN: parse untrusted input at the edge, with limits).
const PIN = z.string().min(4).max(256);
/**
 * A pasted share is a plain envelope or words (an encrypted share comes as a file): at most the core's
 * MAX_SHARE_TEXT_BYTES, which this file cannot import (the renderer's type check reads it); a unit test
 * keeps the two equal.
 */
export const SHARE_TEXT_MAX = 8192;
const SHARE_TEXT = z.string().min(1).max(SHARE_TEXT_MAX);
const PASSPHRASE = z.string().min(1).max(1024);
/**
 * What a person typed to confirm the quorum session: any text within a length limit is a well-formed
 * request. Whether it confirms the session is the desk's judgement, answered in a sentence a person can
 * act on (a schema refusal would only say "malformed request", as it did for a typed "yes").
 */
const TYPED_ANSWER = z.string().max(512);
/** An OpenPGP fingerprint as shown for reading aloud (v4: 40, v6: 64 hex digits; spaces allowed). */
const FINGERPRINT = z.string().max(128).regex(/^[0-9A-Fa-f ]+$/);
const CUSTODIAN = z.string().min(1).max(128);
const JOB_ID = z.string().regex(/^job-[0-9]{1,12}$/);
/** A PKCS#11 URI (RFC 7512) of a payload key main listed from the signing token; main checks it is one of them. */
const KEY_URI = z.string().min(8).max(1024).startsWith('pkcs11:');

/** Request schemas, strict: an unknown key is a malformed request. */
export const REQUESTS = {
  airGapStatus: z.undefined(),
  airGapOverride: z.strictObject({ allowNetwork: z.literal(true), acknowledgement: z.literal('I accept that this machine is networked') }),
  configOpen: z.undefined(),
  signChooseInbox: z.undefined(),
  // No file list: main signs every file of the inbox it scanned, or nothing (DESIGN §3, issue 4).
  // `confirmedKey` is the fingerprint of the key the confirmation screen showed: main refuses to log in
  // unless it is the key it would sign with, so a PIN is never asked for before that screen.
  signRun: z.strictObject({ pin: PIN, confirmedKey: FINGERPRINT, payloadKey: KEY_URI.optional() }),
  signOpenRecord: z.undefined(),
  renewOpen: z.undefined(),
  renewConfirmSession: z.strictObject({ typed: TYPED_ANSWER }),
  // A share for the quorum session open in the Renew key workspace: a renewal's, a backup's or a restore's.
  renewAddShare: z.discriminatedUnion('source', [
    z.strictObject({ source: z.literal('text'), text: SHARE_TEXT }),
    z.strictObject({ source: z.literal('file') }),
    z.strictObject({ source: z.literal('encrypted'), passphrase: PASSPHRASE }),
  ]),
  renewRun: z.strictObject({ signingPin: PIN }),
  renewHandOutShare: z.strictObject({ custodian: CUSTODIAN }),
  // Backup and restore (issue 11) take their shares through renewAddShare, the Renew key workspace's one
  // share entry. No path: main chooses the backup file to write or read through a native dialog.
  backupOpen: z.undefined(),
  backupRun: z.strictObject({ signingPin: PIN }),
  restoreOpen: z.undefined(),
  // The fresh signing token's SO PIN as the operators set it: the restore replaces it with one the quorum holds.
  restoreRun: z.strictObject({ signingPin: PIN, soPin: PIN }),
  auditOpen: z.undefined(),
  auditPinCertificate: z.undefined(),
  auditChooseArtifacts: z.undefined(),
  auditExport: z.strictObject({ format: z.enum(['html', 'pdf']) }),
  jobCancel: z.strictObject({ jobId: JOB_ID }),
} satisfies Record<ApiMethod, z.ZodType>;

export type RequestOf<M extends ApiMethod> = z.input<(typeof REQUESTS)[M]>;

export interface IpcError {
  code: string;
  message: string;
}
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcError };

export interface AirGapView {
  airGapped: boolean;
  interfacesUp: string[];
  /** The operator chose to run on a networked machine; every ceremony record says so. */
  overridden: boolean;
}

export interface ConfigView {
  file: string;
  identity: string;
  signingKey: string;
  threshold: number;
  custodians: string[];
  trustedBuildKeys: number;
}

export type InboxStatus = 'VERIFIED' | 'REJECTED' | 'TO SIGN';
export interface InboxFile {
  name: string;
  size: number;
  kind: 'release' | 'payload' | 'signature' | 'digests' | 'other';
  status: InboxStatus;
  /** Why it was rejected, as `{code, message}`. */
  reason?: IpcError;
  /** The build server key that signed it (OpenPGP fingerprint, uppercase hex). */
  signerFingerprint?: string;
  sha256: string;
  /** The config's independent-builders rule applied to this file (issue 15); absent: no such rule, or not reached. */
  builders?: BuilderAgreementView;
}
/** One builder's verdict on one file: agreed; disagreed, with the digest it lists and the one computed; or missing, with why. */
export type BuilderStateView =
  | { name: string; state: 'agreed'; keyFingerprint: string }
  | { name: string; state: 'disagreed'; algorithm: string; listed: string; computed: string; keyFingerprint: string }
  | { name: string; state: 'missing'; code: string; reason: string };
/** "At least K of the N builders agree, and none disagrees" and how each builder stood. */
export interface BuilderAgreementView {
  threshold: number;
  total: number;
  met: boolean;
  builders: BuilderStateView[];
}
export interface InboxView {
  folder: string;
  /** The files to verify and sign, each with its verdict. */
  files: InboxFile[];
  /** Signatures and DIGESTS the verification of the listed files used (by the core's lookup rule). */
  supporting: string[];
  /** Signatures and DIGESTS in the folder that belong to no listed file (e.g. a removed file's .sig): not used. */
  unused: string[];
  /** The key the ceremony will sign with (newest valid OpenPGP signing key on the token). */
  signingKey: SigningKeyView;
  /**
   * RSA-2048 keys on the signing token that can sign update payloads (not OpenPGP keys), read without a PIN;
   * the maintainer chooses one when the inbox holds payloads.
   */
  payloadKeys: PayloadKeyView[];
}
/** A key as a person reads it before any PIN: its label, what it is for, its validity; the URI on demand. */
export interface SigningKeyView {
  uri: string;
  /** The token object's label (CKA_LABEL): how people name the key. */
  label: string;
  /** OpenPGP fingerprint, upper-case hex. */
  fingerprint: string;
  /** e.g. "OpenPGP signing subkey, newest valid on the token". */
  role: string;
  /** ISO 8601 instants: when the key was created, and the instant it expires (absent: no expiry). */
  validFrom: string;
  validUntil?: string;
}
export interface PayloadKeyView {
  uri: string;
  label: string;
  /** SHA-256 of the public key's SubjectPublicKeyInfo, upper-case hex (how payload keys are named in records). */
  fingerprint: string;
}

export interface OutputView {
  name: string;
  path: string;
  /** SHA-256 of the signature file written. */
  sha256: string;
  /** The core writes nothing unless every signature verified through the independent path. */
  selfCheck: 'OK';
}
export interface RecordRef {
  id: string;
  folder: string;
}
export interface SignOutcome {
  /** The key that signed: its label, URI and OpenPGP fingerprint. */
  key: { uri: string; label: string; fingerprint: string };
  outputs: OutputView[];
  /** The first record written (the release signing ceremony's, when there were release files). */
  record: RecordRef;
  /** Every record written: one for the release files, one per payload. */
  records: RecordRef[];
  /** Payloads left unsigned (no payload key on the signing token), each with why. */
  skipped: { name: string; reason: string }[];
}

export interface QuorumSessionView {
  /** The session ID to read aloud (groups of hex) and the same as PGP words. */
  sessionId: string;
  sessionWords: string;
  /** The set in force: whose shares unlock the root token. */
  threshold: number;
  custodians: string[];
  /** The new set the renewal will split to. */
  newThreshold: number;
  newCustodians: string[];
  currentFingerprint: string;
  /** ISO 8601 instants: from, and the instant the new subkey expires. */
  newValidity: { from: string; to: string };
}
export interface ShareAccepted {
  custodian: string;
  index: number;
  have: number;
  need: number;
}
export interface RenewOutcome {
  newSubkeyFingerprint: string;
  certificateFingerprint: string;
  newShares: { custodian: string }[];
  record: RecordRef;
  /** What the core said about backups made before this renewal (stale: a new backup is due), as the CLI prints it. */
  backupStale: string | null;
}

/** The quorum set whose shares a backup or a restore takes (issue 11), to read aloud before shares are presented. */
export interface QuorumSetView {
  /** The set ID, grouped for reading aloud (as on the custodians' shares). */
  setId: string;
  threshold: number;
  custodians: string[];
  rootToken: string;
  signingToken: string;
}
export interface BackupSessionView extends QuorumSetView {
  purpose: 'backup';
  /** Where the backup file will be written (chosen in main before any share; never replaced). */
  savesAs: string;
}
export interface RestoreSessionView extends QuorumSetView {
  purpose: 'restore';
  /** The backup file's name (chosen in main), and when it was made (ISO 8601). */
  file: string;
  created: string;
}
export interface KeyRef {
  /** The token's label. */
  token: string;
  label: string;
  role: string;
}
export interface BackupOutcome {
  savedAs: string;
  setId: string;
  keys: KeyRef[];
  /** Keys that cannot leave their token (never extractable), each with why. */
  notBackedUp: { token: string; label: string; reason: string }[];
  record: RecordRef;
}
export interface RestoreOutcome {
  setId: string;
  restored: KeyRef[];
  /** The core's self-check result: every restored key signed a test digest its recorded public half verifies. */
  selfCheck: string;
  record: RecordRef;
}
export interface HandedOutShare {
  custodian: string;
  savedAs: string;
  encrypted: boolean;
}

/**
 * The reviewer's verdict (ceremony/audit/review.ts). `refused`: the record is intact and the ceremony
 * refused by policy (tampered input, wrong PIN, unconfirmed session); `refused-unsealed`: whole and
 * ended, refused by the token at the PIN that guards the seal key itself, so unsealed (not a pass);
 * `incomplete`: it stopped (killed, crashed) without an end.
 */
export type Verdict = 'intact' | 'refused' | 'refused-unsealed' | 'incomplete' | 'tampered' | 'policy-violation';
export interface PinnedCertificateView {
  /** The file's name (not its path): what the auditor chose. */
  file: string;
  fingerprint: string;
  userIds: string[];
}
export interface ArtifactView {
  role: string;
  name: string;
  status: 'match' | 'mismatch' | 'absent';
  lookedAt: string;
}
export interface AuditView {
  folder: string;
  /** e.g. `sign 3f9a… (completed)` */
  ceremony: string;
  verdict: Verdict;
  /** The core's one-line verdict, e.g. `intact (seal not pinned)`, `refused at step verify-input`. */
  headline: string;
  summary: string;
  /**
   * The seal as checked. `pinned` is false when it was checked only against the keys the record carries
   * (keys/), which an attacker who rewrote the record could have replaced: never shown as a plain "intact".
   */
  seal: { present: boolean; valid: boolean; pinned: boolean; signer?: string };
  /** The certificate the auditor pinned for this review, if any. */
  pinnedCertificate: PinnedCertificateView | null;
  /** The folder the artifacts were looked for in (null: where the record's manifest says they were written). */
  artifactsFolder: string | null;
  artifacts: ArtifactView[];
  timeline: { seq: number; time: string; step: string; actor: string; result: string; detail: string }[];
  policy: { title: string; outcome: string; detail: string }[];
  findings: { severity: 'error' | 'info'; code: string; message: string; line?: number }[];
}
export interface ExportedReport {
  savedAs: string;
  format: 'html' | 'pdf';
}

/** What each channel answers with (inside IpcResult). */
export interface Responses {
  airGapStatus: AirGapView;
  airGapOverride: AirGapView;
  configOpen: ConfigView | null;
  signChooseInbox: InboxView | null;
  signRun: SignOutcome;
  signOpenRecord: AuditView | null;
  renewOpen: QuorumSessionView;
  renewConfirmSession: { confirmed: true };
  renewAddShare: ShareAccepted;
  renewRun: RenewOutcome;
  renewHandOutShare: HandedOutShare | null;
  /** null: no file was chosen to write the backup to. */
  backupOpen: BackupSessionView | null;
  backupRun: BackupOutcome;
  /** null: no backup file was chosen. */
  restoreOpen: RestoreSessionView | null;
  restoreRun: RestoreOutcome;
  auditOpen: AuditView | null;
  /** The certificate pinned, and the open record reviewed again against it (null when none is open). */
  auditPinCertificate: { pinned: PinnedCertificateView; review: AuditView | null } | null;
  /** The artifacts folder chosen, and the open record reviewed again with it. */
  auditChooseArtifacts: { folder: string; review: AuditView | null } | null;
  auditExport: ExportedReport | null;
  jobCancel: { cancelled: boolean };
}

/** Progress of long work (hashing, verifying, signing, HSM calls) running in the worker. */
export interface ProgressEvent {
  jobId: string;
  /** The ceremony step the work belongs to (one of the step list's ids). */
  step: string;
  label: string;
  done: number;
  total: number;
}

type ApiFn<M extends ApiMethod> = RequestOf<M> extends undefined
  ? () => Promise<IpcResult<Responses[M]>>
  : (request: RequestOf<M>) => Promise<IpcResult<Responses[M]>>;

/** `window.ceremony`, as the preload exposes it. */
export type CeremonyApi = { [M in ApiMethod]: ApiFn<M> } & {
  onProgress(listener: (event: ProgressEvent) => void): () => void;
};
