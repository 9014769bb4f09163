/**
 * The state the steps of one sign-update ceremony share (sign-update.ts), from its birth to its release:
 * what is settled before the record opens (the request checked, the keys found on the token, the builders'
 * rule loaded, then the air gap checked as the record opens), what the steps add as they run, and what is
 * released however the ceremony ends (sessions closed, outputs taken back on failure, a refusal sealed).
 */
import { basename, join } from 'node:path';
import { existsSync, rmSync } from 'node:fs';
import { CeremonyError } from '../errors.js';
import { assertRegularFile } from '../files.js';
import { connectToken, resolveTokenIdentity } from '../hsm/connect.js';
import { PinAttempts, TokenSession } from '../hsm/token.js';
import { openModule, resolveModulePath } from '../hsm/module.js';
import { assertKeyUsable, type KeyInfo } from '../hsm/keys.js';
import type { Pkcs11Uri } from '../hsm/uri.js';
import type { TokenKeySigner } from '../hsm/token-signer.js';
import { choosePinSource, type PinSource } from '../hsm/pin.js';
import type { RecordSealer } from '../audit/seal.js';
import { certificateKeys } from '../openpgp/build/certificate.js';
import type { PreparedDetachedSignature } from '../openpgp/build/detached.js';
import { findOpenpgpKeys, type OpenpgpTokenKey } from '../openpgp/hsm-store.js';
import type { TrustedCertificate } from '../openpgp/verify/certificate.js';
import type { FileVerification } from '../release/verify-release.js';
import { loadBuilderSet, type BuilderSet } from '../release/builders.js';
import { formatInstant } from '../read-aloud.js';
import { CeremonyRun } from './runner.js';
import { chooseSealKey, hsmSealer } from './seal-key.js';
import type { SealedRecord } from '../audit/record.js';
import type { OpenPayloadSource } from '../payload/format.js';
import type { BuilderRule } from '../release/builders.js';
import type { ProvenancePolicy } from '../provenance/policy.js';
import type { CeremonyContext } from './runner.js';

export interface SignUpdateOptions extends CeremonyContext {
  files: string[];
  trustedKeys: string[];
  /** Certificates of designated revokers the pinned ones name (checked for revocations only). */
  revokerKeys?: string[];
  key: Pkcs11Uri;
  outDir: string;
  armor: boolean;
  signature?: string;
  digests?: string;
  /** Warn when the signing key expires within this many days (the renewal window). */
  renewWindowDays?: number;
  /**
   * Update payloads (CrAU) signed in the same ceremony with `payloadKeys` (the last makes the version-2
   * signature), written as OUT_DIR/NAME.signed: verified with the release files, all or nothing, one record.
   */
  payloads?: string[];
  payloadKeys?: Pkcs11Uri[];
  /** How payloads are opened for signing (default: the file); tests inject a source that changes between reads. */
  openPayloadInput?: OpenPayloadSource;
  /** Independent builders that must agree on every input (issue 15, release/agreement.ts). */
  builders?: BuilderRule;
  /** The provenance policy every input must meet (issue 15, provenance/check.ts). */
  provenance?: ProvenancePolicy;
}

export interface SignedPayload {
  input: string;
  output: string;
  inputSha256: string;
  inputSize: number;
  outputSha256: string;
  outputSize: number;
  signedHash: string;
}

export interface SignedFile {
  input: string;
  output: string;
  sha256: string;
  sha512: string;
  signatureSha256: string;
}

export interface SignUpdateResult {
  verified: FileVerification[];
  signed: SignedFile[];
  payloads: SignedPayload[];
  key: { uri: string; fingerprint: string; primaryFingerprint: string };
  record: SealedRecord;
}

/** The inputs and the outputs they will make, checked before anything starts. */
export interface SignRequest {
  payloads: string[];
  /** OUT_DIR/NAME.sig (or .asc), one per release file, in order. */
  outputs: string[];
  /** OUT_DIR/NAME.signed, one per payload, in order. */
  payloadOutputs: string[];
}

/** The keys on the signing token, found from its public objects before the record opens, and how to log in. */
export interface SigningKeys {
  entry: OpenpgpTokenKey;
  /** The key that seals the record: --seal-key, else the signing key. */
  sealEntry: OpenpgpTokenKey;
  /** The primary key of the signing key's certificate (shown in the plan). */
  primary: string | undefined;
  pinSource: PinSource;
}

/** Our signature's fields, fixed before any file is read (hashed in the verification pass). */
export interface FixedSignature {
  created: Date;
  prepared: PreparedDetachedSignature;
}

/** A release signature made and checked, not yet written. */
export interface MadeSignature {
  input: FileVerification;
  output: string;
  bytes: Uint8Array | string;
  binary: Uint8Array;
}

/**
 * One sign-update ceremony: set up before the record opens, then filled in by its steps in order
 * (sign-update-steps.ts), each reading what the earlier ones left. What the cleanup needs (the sessions,
 * the outputs in place, the PIN attempts) is here, so it runs whatever step failed.
 */
export interface SignCeremony {
  readonly o: SignUpdateOptions;
  readonly run: CeremonyRun;
  readonly request: SignRequest;
  readonly keys: SigningKeys;
  readonly builders: BuilderSet | undefined;
  readonly attempts: PinAttempts;
  /**
   * Outputs already in place (payloads, then signatures), to take back if the ceremony fails after
   * them, the seal included: no output is left without a sealed record that accounts for it.
   */
  readonly written: string[];
  /** Sessions opened for payload keys on other tokens than the signing one. */
  readonly payloadSessions: Map<string, TokenSession>;

  // Filled in by the steps, in this order.
  trusted?: TrustedCertificate[];
  signature?: FixedSignature;
  /** Every input (release files, then payloads), each verified. */
  verified?: FileVerification[];
  /** The signing token's session, logged in (or, after a refusal before the login, only to seal). */
  session?: TokenSession;
  /** The signing key's object on the token, selected inside its validity window. */
  key?: KeyInfo;
  /** That key as the signer of the release signatures (finishes the fields fixed before the login). */
  signer?: TokenKeySigner;
  /** Seals the record on the signing session; before it exists, sealerForRefusal tries to reach one. */
  sealer?: RecordSealer;
  made?: MadeSignature[];
  /** Payloads signed, checked and written. */
  payloads?: SignedPayload[];
  /** Release signatures written. */
  signatures?: SignedFile[];
}

/**
 * The usage checks, the early checks of every input (the late ones are on the open descriptor, where a
 * FIFO never blocks, files.ts, and at the exclusive creation of each output), and no output already there.
 */
export function checkRequest(o: SignUpdateOptions): SignRequest {
  const payloads = o.payloads ?? [];
  if (o.files.length === 0 && payloads.length === 0) throw new CeremonyError('USAGE', 'give at least one release file to sign');
  if (payloads.length > 0 && (o.payloadKeys ?? []).length === 0) throw new CeremonyError('USAGE', 'update payloads need a payload key (--payload-key URI)');
  if (o.trustedKeys.length === 0) throw new CeremonyError('USAGE', 'give the build server certificate with --trusted-key (nothing is signed without verifying its signature first)');
  const names = new Set<string>();
  for (const f of [...o.files, ...payloads]) {
    const n = basename(f);
    if (names.has(n)) throw new CeremonyError('USAGE', `two inputs are named ${n}: their signatures would overwrite each other in --out-dir`);
    names.add(n);
  }
  for (const f of o.files) assertRegularFile(f, 'release file');
  for (const f of payloads) assertRegularFile(f, 'payload');
  const outputs = o.files.map((f) => join(o.outDir, `${basename(f)}${o.armor ? '.asc' : '.sig'}`));
  const payloadOutputs = payloads.map((f) => join(o.outDir, `${basename(f)}.signed`));
  for (const out of [...outputs, ...payloadOutputs]) if (existsSync(out)) throw new CeremonyError('OUTPUT_EXISTS', `${out} already exists; a ceremony never overwrites a signature`);
  return { payloads, outputs, payloadOutputs };
}

/**
 * Refuse before anything starts when no key could sign or seal the record (DESIGN §5): the token's
 * public objects (keys and their certificates) are readable without a PIN.
 */
export async function chooseKeys(o: SignUpdateOptions): Promise<SigningKeys> {
  const mod = openModule(resolveModulePath({ uri: o.key, flag: o.module, env: o.env }));
  const probe = TokenSession.open(mod, o.key, false);
  let entry: OpenpgpTokenKey;
  let sealEntry: OpenpgpTokenKey;
  try {
    // The record is sealed on the signing token's session: a --seal-key must name a key on that token
    // (in any spelling of its URI).
    if (o.sealKey && resolveTokenIdentity(o.sealKey, o) !== resolveTokenIdentity(o.key, o)) {
      throw new CeremonyError('USAGE', '--seal-key must name a key on the signing token (the one --key names)');
    }
    entry = await signingKeyEntry(probe, o.key, o.now());
    sealEntry = o.sealKey ? await chooseSealKey(probe, { sealKey: o.sealKey, now: o.now() }) : entry;
  } finally {
    probe.close();
  }
  // A run that could never log in is refused now, before the record opens (issue 13).
  const pinSource = choosePinSource({ uri: o.key, pinFile: o.pinFile, env: o.env, stdin: o.stdin });
  const primary = (await certificateKeys(entry.certificate)).find((k) => k.role === 'primary')?.fingerprint;
  return { entry, sealEntry, primary, pinSource };
}

/**
 * The OpenPGP key the --key URI names, with its certificate, found from the token's public objects.
 * Refused before the ceremony starts when it cannot sign now: outside its CKA_START_DATE/CKA_END_DATE
 * window (KEY_EXPIRED / KEY_NOT_YET_VALID), expired in OpenPGP, or not signing-capable.
 */
async function signingKeyEntry(ts: TokenSession, uri: Pkcs11Uri, now: Date): Promise<OpenpgpTokenKey> {
  const all = await findOpenpgpKeys(ts, now);
  const matches = all.filter((e) => (uri.object === undefined || e.key.label === uri.object) && (uri.id === undefined || e.key.id.equals(uri.id)));
  const name = uri.object ?? uri.id?.toString('hex') ?? '(unnamed)';
  if (uri.object === undefined && uri.id === undefined) throw new CeremonyError('BAD_URI', 'the --key URI must name the key with object= or id=');
  if (matches.length === 0) {
    throw new CeremonyError('KEY_NOT_FOUND', `token '${ts.info.label}' has no OpenPGP signing key '${name}' (a key with a stored certificate, made by key generate --openpgp-uid or a key ceremony)`);
  }
  if (matches.length > 1) throw new CeremonyError('KEY_AMBIGUOUS', `token '${ts.info.label}' has ${matches.length} OpenPGP keys matching '${name}'; add id= to the URI`);
  const entry = matches[0]!;
  assertKeyUsable(entry.key, now);
  if (entry.expires && entry.expires <= now) {
    throw new CeremonyError('KEY_EXPIRED', `key '${entry.key.label}' expired in OpenPGP at ${formatInstant(entry.expires)} and may no longer sign`);
  }
  if (!entry.canSign) throw new CeremonyError('KEY_UNSUITABLE', `key '${entry.key.label}' is not an OpenPGP signing key`);
  return entry;
}

/**
 * Open the record (after the air-gap check, runner.ts). The builders' certificates are loaded first:
 * the rule the record commits to names their fingerprints.
 */
export async function startCeremony(o: SignUpdateOptions, request: SignRequest, keys: SigningKeys): Promise<SignCeremony> {
  const builders: BuilderSet | undefined = o.builders ? await loadBuilderSet(o.builders, o.now()) : undefined;
  const run = CeremonyRun.start({
    ...o,
    provenance: o.provenance ? { keyids: o.provenance.keys.map((k) => k.keyid), builderIds: o.provenance.builderIds, repository: o.provenance.source.repository, refPattern: o.provenance.source.refPattern.source } : undefined,
    builders: builders ? { threshold: builders.threshold, members: builders.builders.map((b) => ({ name: b.name, fingerprints: b.fingerprints })) } : undefined,
    kind: 'sign',
    command: 'ceremony sign',
    actor: { role: 'maintainer' },
  });
  return { o, run, request, keys, builders, attempts: new PinAttempts(), written: [], payloadSessions: new Map() };
}

/**
 * The seal of a refusal. A refusal before the login (a tampered input, an unconfirmed plan) is sealed by
 * a login made only for the seal; after a failed login nothing more is tried (a wrong PIN costs a try on
 * the token, and a prompt cancelled with Ctrl-C is the person's answer).
 */
export async function sealerForRefusal(s: SignCeremony): Promise<RecordSealer | undefined> {
  const { o } = s;
  if (!s.session) {
    if (s.attempts.wrong > 0 || s.run.record.failedStep === 'hsm-login') return undefined;
    if (s.keys.pinSource.interactive) o.reporter.warn('nothing was signed; the PIN is asked once more only to seal the record of this refusal (Ctrl-C leaves it unsealed)');
    s.session = await connectToken(o.key, { module: o.module, pinSource: s.keys.pinSource, env: o.env, stdin: o.stdin, attempts: s.attempts, login: true });
  }
  // Logged in already (a refusal after the login, e.g. at select-key): the same session seals.
  return hsmSealer(s.session, s.keys.sealEntry, o.now);
}

/** Sealed: the outputs in place are the ceremony's, nothing is taken back any more. */
export function keepOutputs(s: SignCeremony): void {
  s.written.length = 0;
}

/** The ceremony failed (the seal included): every output it put in place is taken back. */
export function takeBackOutputs(s: SignCeremony): void {
  for (const out of s.written) rmQuiet(out);
}

/** However the ceremony ended: every session it opened (the signing token's, the payload keys') is closed. */
export function releaseSessions(s: SignCeremony): void {
  s.session?.close();
  for (const extra of s.payloadSessions.values()) extra.close();
}

function rmQuiet(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // nothing to take back
  }
}
