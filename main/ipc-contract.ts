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
  auditOpen: 'audit:open',
  auditExport: 'audit:export',
  jobCancel: 'job:cancel',
} as const;

/** main → renderer events (the only ones the preload lets through). */
export const EVENTS = { progress: 'job:progress' } as const;

export type ApiMethod = keyof typeof CHANNELS;
export type Channel = (typeof CHANNELS)[ApiMethod];

// Limits for everything the renderer may send (DESIGN: parse untrusted input at the edge, with limits).
const PIN = z.string().min(4).max(256);
const SHARE_TEXT = z.string().min(1).max(16_384);
const PASSPHRASE = z.string().min(1).max(1024);
const SESSION_ID = z.string().min(8).max(128).regex(/^[0-9A-Za-z -]+$/);
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
  signRun: z.strictObject({ pin: PIN, payloadKey: KEY_URI.optional() }),
  signOpenRecord: z.undefined(),
  renewOpen: z.undefined(),
  renewConfirmSession: z.strictObject({ sessionId: SESSION_ID }),
  renewAddShare: z.discriminatedUnion('source', [
    z.strictObject({ source: z.literal('text'), text: SHARE_TEXT }),
    z.strictObject({ source: z.literal('file') }),
    z.strictObject({ source: z.literal('encrypted'), passphrase: PASSPHRASE }),
  ]),
  renewRun: z.strictObject({ signingPin: PIN }),
  renewHandOutShare: z.strictObject({ custodian: CUSTODIAN }),
  auditOpen: z.undefined(),
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
}
export interface InboxView {
  folder: string;
  /** The files to verify and sign, each with its verdict. */
  files: InboxFile[];
  /** Signatures and DIGESTS found beside them (used by the verification, not signed). */
  supporting: string[];
  /** The key the ceremony will sign with (newest valid OpenPGP signing key on the token) and its fingerprint. */
  signingKey: { uri: string; fingerprint: string };
  /**
   * RSA-2048 keys on the signing token that can sign update payloads (not OpenPGP keys), read without a PIN;
   * the maintainer chooses one when the inbox holds payloads.
   */
  payloadKeys: PayloadKeyView[];
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
  /** The key that signed: its URI and OpenPGP fingerprint (a payload key's SPKI SHA-256 when only payloads were signed). */
  key: { uri: string; fingerprint: string };
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
}
export interface HandedOutShare {
  custodian: string;
  savedAs: string;
  encrypted: boolean;
}

/** The reviewer's verdict (ceremony/audit/review.ts). */
export type Verdict = 'intact' | 'refused' | 'incomplete' | 'tampered' | 'policy-violation';
export interface AuditView {
  folder: string;
  /** e.g. `sign 3f9a… (completed)` */
  ceremony: string;
  verdict: Verdict;
  summary: string;
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
  auditOpen: AuditView | null;
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
