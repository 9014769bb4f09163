/**
 * The review of a ceremony record (DESIGN §3, Review; docs/RECORD-FORMAT.md): parse the untrusted log at
 * the edge, line by line, with limits; check the hash chain, the sequence, the ceremony ID, the clock,
 * the seal (against the pinned certificates when given), the files the seal binds (manifest.json, keys/),
 * the artifacts' hashes where they can be found, and the policy. The verdict tells a tampered record from
 * one that merely stopped before its seal.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { CeremonyError } from '../errors.js';
import { readInputFile } from '../files.js';
import { hashBytes } from '../crypto.js';
import { hashFileOnce } from '../hash-pass.js';
import {
  CEREMONY_KINDS,
  CEREMONY_STEPS,
  GENESIS_PREV,
  ceremonyEventSchema,
  manifestSchema,
  type CeremonyEvent,
  type NumberedEvent,
  type CeremonyKind,
  type CeremonyParameters,
  type CeremonyStep,
  type Manifest,
  type ManifestArtifact,
} from './events.js';
import { finding, type Finding, type PolicyCheck } from './findings.js';
import { checkPolicy } from './policy.js';
import { checkSeal, readCertificates, summarizeCertificate, type CertificateSummary, type SealStatus } from './seal-check.js';
import { KEYS_DIR, LOG_FILE, MANIFEST_FILE, SEAL_FILE, compactUtc } from './record.js';
import { isUnsealableRefusal, unsealableRefusalReason } from './unsealed-refusal.js';

/**
 * intact: sealed, whole, the ceremony completed; refused: sealed and whole, the ceremony stopped at a
 * step that refused (a tampered input, a wrong PIN, an unconfirmed session, bad shares) as policy says it
 * must; refused-unsealed: whole, chained and ended, stopped by the token refusing the PIN that guards the
 * seal key itself (unsealed-refusal.ts), so nothing proves its author or its end; incomplete: not sealed
 * (killed, crashed, or unsealed for any other reason); tampered; policy-violation. Only intact and
 * refused pass (exit 0).
 */
export type Verdict = 'intact' | 'refused' | 'refused-unsealed' | 'incomplete' | 'tampered' | 'policy-violation';

/** The verdicts a record passes with (exit 0). */
export function verdictPasses(verdict: Verdict): boolean {
  return verdict === 'intact' || verdict === 'refused';
}

/** Limits for untrusted records (tuf-js style: one place). */
export const REVIEW_LIMITS = {
  logBytes: 64 * 1024 * 1024,
  lineBytes: 256 * 1024,
  sealBytes: 64 * 1024,
  manifestBytes: 16 * 1024 * 1024,
  keyFileBytes: 1024 * 1024,
  keyFiles: 64,
} as const;

export interface ArtifactCheck {
  artifact: ManifestArtifact;
  status: 'match' | 'mismatch' | 'absent';
  /** Where the reviewer looked. */
  lookedAt: string;
}

export interface Review {
  dir: string;
  verdict: Verdict;
  /**
   * The verdict as people read it, saying whether the seal was checked against a pinned certificate:
   * `intact`, `intact (seal not pinned)`, `refused at step verify-input (seal not pinned)`, `tampered`…
   */
  headline: string;
  /** Whether the seal was made by a certificate the auditor pinned (--trusted-key). */
  pinned: boolean;
  /** The step at which a refused ceremony stopped, with its code and sentence. */
  refusal?: { step: CeremonyStep; line: number; code?: string; detail: string };
  /** For a refused-unsealed record: why no key could seal it (unsealed-refusal.ts). */
  unsealedBecause?: string;
  /** One line for people, e.g. "incomplete, stopped after step sign (line 9)". */
  summary: string;
  ceremonyId?: string;
  kind?: CeremonyKind;
  parameters?: CeremonyParameters;
  /** Events that parsed, with their line numbers (the timeline). */
  events: NumberedEvent[];
  lineCount: number;
  lastStep?: CeremonyStep;
  outcome: 'completed' | 'failed' | 'unfinished';
  seal: SealStatus;
  keys: CertificateSummary[];
  manifest?: Manifest;
  artifacts: ArtifactCheck[];
  policy: PolicyCheck[];
  findings: Finding[];
}

export interface ReviewOptions {
  /** Armored certificates the auditor pins (--trusted-key): the seal must be by one of them. */
  trustedCertificates?: string[];
  /**
   * Look for the artifacts by name in this folder (`--artifacts DIR`), e.g. on another machine, instead
   * of at the paths manifest.json recorded relative to the record's parent folder.
   */
  artifactsDir?: string;
}

/**
 * A record file, read once from one non-blocking open and checked on that descriptor (files.ts
 * readInputFile): a file swapped after a check, a FIFO, a link to /dev/zero or a file that grows is
 * refused (RECORD_MALFORMED), never read past `max` or waited on.
 */
function readLimited(path: string, max: number, what: string): Buffer {
  try {
    return readInputFile(path, what.replace(/^the /, ''), max);
  } catch (e) {
    throw new CeremonyError('RECORD_MALFORMED', `${what} ${path} is not a regular file of at most ${max} bytes`, { cause: e });
  }
}

/** Split the log into lines (exact bytes, without the newline); a last chunk without newline is torn. */
function splitLines(bytes: Buffer): { lines: Buffer[]; torn: Buffer | undefined } {
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, start)) {
    lines.push(bytes.subarray(start, i));
    start = i + 1;
  }
  return { lines, torn: start < bytes.length ? bytes.subarray(start) : undefined };
}

const sha256Hex = (b: Uint8Array) => hashBytes('sha256', b).toString('hex');

/** Check the chain, sequence and identity of every line; return the events that parsed. */
function checkLog(bytes: Buffer, findings: Finding[]): { events: NumberedEvent[]; lineCount: number } {
  const { lines, torn } = splitLines(bytes);
  const all = torn ? [...lines, torn] : lines;
  if (all.length === 0) findings.push(finding('log-empty', 'log.jsonl is empty'));
  if (torn) findings.push(finding('torn-line', `line ${all.length} is cut off (no newline): the writer only writes whole lines`, all.length));
  const events: NumberedEvent[] = [];
  let prevSeq = 0;
  let prevTime: number | undefined;
  let first: CeremonyEvent | undefined;
  let endedAt: number | undefined;
  const steps = new Set<string>(CEREMONY_STEPS);
  for (let i = 0; i < all.length; i++) {
    const n = i + 1;
    const raw = all[i]!;
    const expectedPrev = i === 0 ? GENESIS_PREV : sha256Hex(all[i - 1]!);
    if (raw.length > REVIEW_LIMITS.lineBytes) {
      findings.push(finding('line-too-long', `line ${n} is longer than ${REVIEW_LIMITS.lineBytes} bytes`, n));
      continue;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(raw.toString('utf8'));
    } catch {
      findings.push(finding('bad-json', `line ${n} is not valid JSON`, n));
      continue;
    }
    const o = (obj && typeof obj === 'object' ? obj : {}) as Record<string, unknown>;
    // The chain first, on the raw field: it names where a line was edited, removed or reordered.
    if (o.prev !== expectedPrev) {
      findings.push(finding('chain-break', `chain break at line ${n}: its prev is not the SHA-256 of ${i === 0 ? 'the genesis value (64 zeros)' : `line ${i}`}`, n));
    }
    if (typeof o.step === 'string' && !steps.has(o.step)) {
      findings.push(finding('unknown-step', `line ${n} names an unknown step "${o.step.slice(0, 40)}"`, n));
    }
    if (typeof o.seq === 'number') {
      if (o.seq === prevSeq) findings.push(finding('sequence-duplicate', `sequence number ${o.seq} repeats at line ${n}`, n));
      else if (o.seq > prevSeq + 1) findings.push(finding('sequence-gap', `sequence gap at line ${n}: ${prevSeq + 1} expected, ${o.seq} found`, n));
      else if (o.seq < prevSeq) findings.push(finding('sequence-out-of-order', `sequence goes back at line ${n}: ${o.seq} after ${prevSeq}`, n));
      prevSeq = o.seq;
    }
    const parsed = ceremonyEventSchema.safeParse(obj);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      findings.push(finding('bad-event', `line ${n} is not a valid event (${issue ? `${issue.path.join('.') || 'line'}: ${issue.message}` : 'invalid'})`, n));
      continue;
    }
    const ev = parsed.data;
    if (endedAt !== undefined) findings.push(finding('event-after-end', `line ${n} comes after ceremony-end at line ${endedAt}`, n));
    if (i === 0) {
      if (ev.step !== 'ceremony-start' || !ev.parameters) findings.push(finding('start-missing', 'line 1 is not the ceremony-start event with the ceremony parameters', 1));
    } else if (ev.step === 'ceremony-start' || ev.parameters) {
      findings.push(finding('start-repeated', `line ${n} is a second ceremony-start or carries parameters`, n));
    }
    first ??= ev;
    if (ev.ceremony !== first.ceremony) findings.push(finding('ceremony-id-mismatch', `line ${n} belongs to ceremony ${ev.ceremony}, not ${first.ceremony}`, n));
    if (ev.kind !== first.kind) findings.push(finding('kind-mismatch', `line ${n} says kind ${ev.kind}, not ${first.kind}`, n));
    const t = Date.parse(ev.time);
    if (prevTime !== undefined && t < prevTime) findings.push(finding('time-backwards', `time goes backwards at line ${n} (${ev.time})`, n));
    prevTime = t;
    if (ev.step === 'ceremony-end' && endedAt === undefined) endedAt = n;
    events.push({ line: n, event: ev });
  }
  return { events, lineCount: all.length };
}

/** Check the files the 'seal' event binds by hash: manifest.json and every keys/ file. */
function checkBoundFiles(dir: string, events: NumberedEvent[], keyFiles: string[], findings: Finding[]): void {
  const sealEvent = [...events].reverse().find((e) => e.event.step === 'seal');
  if (!sealEvent) return;
  const bound = new Set<string>();
  for (const f of sealEvent.event.outputs ?? []) {
    const ok = f.name === MANIFEST_FILE || /^keys\/[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(f.name);
    if (!ok) {
      findings.push(finding('bound-file-outside', `the seal event (line ${sealEvent.line}) binds ${f.name}, which is not a file of the record`, sealEvent.line));
      continue;
    }
    bound.add(f.name);
    const path = join(dir, f.name);
    if (!existsSync(path)) {
      findings.push(finding(f.name === MANIFEST_FILE ? 'manifest-missing' : 'bound-file-missing', `${f.name} is bound by the seal event (line ${sealEvent.line}) but missing`, sealEvent.line));
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = readLimited(path, REVIEW_LIMITS.manifestBytes, 'the file');
    } catch {
      findings.push(finding('bound-file-mismatch', `${f.name} cannot be read`, sealEvent.line));
      continue;
    }
    if (sha256Hex(bytes) !== f.sha256) findings.push(finding('bound-file-mismatch', `${f.name} does not match the SHA-256 recorded by the seal event (line ${sealEvent.line})`, sealEvent.line));
  }
  if (!bound.has(MANIFEST_FILE)) findings.push(finding('manifest-missing', `the seal event (line ${sealEvent.line}) does not bind manifest.json`, sealEvent.line));
  for (const k of keyFiles) {
    if (!bound.has(`${KEYS_DIR}/${k}`)) findings.push(finding('unbound-key-file', `keys/${k} was added after the record was sealed (the seal event does not list it)`));
  }
}

/** Where to look for an artifact: in `artifactsDir` by its name, else at its recorded path. */
function artifactLocation(dir: string, a: ManifestArtifact, artifactsDir: string | undefined): string | undefined {
  if (artifactsDir !== undefined) {
    // The name is untrusted: a plain file name only, never a path out of the folder.
    if (!/^[^/\\]+$/.test(a.name) || a.name === '.' || a.name === '..') return undefined;
    return join(resolve(artifactsDir), a.name);
  }
  // Paths are relative to the record's parent folder (where --record-dir put it), or absolute.
  return isAbsolute(a.path) ? a.path : resolve(dirname(dir), a.path);
}

async function checkArtifacts(dir: string, manifest: Manifest, findings: Finding[], artifactsDir?: string): Promise<ArtifactCheck[]> {
  const out: ArtifactCheck[] = [];
  for (const a of manifest.artifacts) {
    const at = artifactLocation(dir, a, artifactsDir);
    if (at === undefined) {
      out.push({ artifact: a, status: 'absent', lookedAt: '' });
      findings.push(finding('artifact-absent', `${a.role} ${a.name.slice(0, 100)} has a name that is not a plain file name; it was not looked up in ${artifactsDir}`));
      continue;
    }
    let present = false;
    try {
      present = statSync(at).isFile();
    } catch {
      present = false;
    }
    if (!present) {
      out.push({ artifact: a, status: 'absent', lookedAt: at });
      findings.push(finding('artifact-absent', `${a.role} ${a.name} is not at ${at}; its hash was not checked`));
      continue;
    }
    const { digests, size } = await hashFileOnce(at, { what: 'file', algorithms: ['sha256'] });
    const match = digests.sha256.toString('hex') === a.sha256 && size === a.size;
    out.push({ artifact: a, status: match ? 'match' : 'mismatch', lookedAt: at });
    if (!match) findings.push(finding('artifact-mismatch', `${a.role} ${a.name} at ${at} does not match the SHA-256 in manifest.json`));
  }
  return out;
}

function verdictOf(findings: Finding[], outcome: Review['outcome'], events: NumberedEvent[]): Verdict {
  if (findings.some((f) => f.class === 'tampered')) return 'tampered';
  if (findings.some((f) => f.class === 'policy')) return 'policy-violation';
  if (findings.some((f) => f.class === 'incomplete')) return isUnsealableRefusal(events, findings) ? 'refused-unsealed' : 'incomplete';
  return outcome === 'failed' ? 'refused' : 'intact';
}

/** The step that stopped the ceremony: its first 'failed' event. */
function refusalOf(events: NumberedEvent[]): Review['refusal'] {
  const f = events.find((e) => e.event.result === 'failed' && e.event.step !== 'ceremony-end');
  return f ? { step: f.event.step, line: f.line, ...(f.event.code ? { code: f.event.code } : {}), detail: f.event.detail } : undefined;
}

function headlineOf(verdict: Verdict, pinned: boolean, refusal: Review['refusal']): string {
  const pin = pinned ? '' : ' (seal not pinned)';
  switch (verdict) {
    case 'intact':
      return `intact${pin}`;
    case 'refused':
      return `refused at step ${refusal?.step ?? 'unknown'}${pin}`;
    case 'refused-unsealed':
      // isUnsealableRefusal found the failed event: the refusal is always there.
      return `refused at step ${refusal!.step} (unsealed)`;
    case 'policy-violation':
      return 'policy violation';
    default:
      return verdict;
  }
}

/** Review the record in `dir`. Throws RECORD_MALFORMED (exit 2) only when `dir` is not a record at all. */
export async function reviewRecord(dir: string, options: ReviewOptions = {}): Promise<Review> {
  const recordDir = resolve(dir);
  const logPath = join(recordDir, LOG_FILE);
  let isDir = false;
  try {
    isDir = statSync(recordDir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir || !existsSync(logPath)) {
    throw new CeremonyError('RECORD_MALFORMED', `${dir} is not a ceremony record (no folder with a ${LOG_FILE})`);
  }
  const findings: Finding[] = [];
  let logBytes: Buffer;
  try {
    logBytes = readLimited(logPath, REVIEW_LIMITS.logBytes, 'the log');
  } catch (e) {
    throw new CeremonyError('RECORD_MALFORMED', `the log of ${dir} cannot be read or is too large`, { cause: e });
  }
  const { events, lineCount } = checkLog(logBytes, findings);
  const start = events[0]?.line === 1 ? events[0].event : undefined;
  const last = events.at(-1);
  const ended = last?.event.step === 'ceremony-end' && last.line === lineCount;

  // keys/: every certificate is summarised for the report and used to check the seal.
  const keyDir = join(recordDir, KEYS_DIR);
  const keyFiles = existsSync(keyDir) ? readdirSync(keyDir).filter((f) => !f.startsWith('.')).sort() : [];
  const keyTexts: { source: string; text: string }[] = [];
  for (const f of keyFiles.slice(0, REVIEW_LIMITS.keyFiles)) {
    try {
      keyTexts.push({ source: `keys/${f}`, text: readLimited(join(keyDir, f), REVIEW_LIMITS.keyFileBytes, 'the key file').toString('utf8') });
    } catch {
      findings.push(finding('key-file-malformed', `keys/${f} cannot be read or is too large`));
    }
  }
  const recordCerts = await readCertificates(keyTexts);
  findings.push(...recordCerts.findings);
  let trusted: Awaited<ReturnType<typeof readCertificates>> | undefined;
  if (options.trustedCertificates) {
    trusted = await readCertificates(options.trustedCertificates.map((text, i) => ({ source: `trusted #${i + 1}`, text })));
    if (trusted.findings.length > 0 || trusted.keys.length === 0) {
      throw new CeremonyError('CERTIFICATE_MALFORMED', 'a --trusted-key file is not an OpenPGP public certificate');
    }
  }

  // The seal.
  const sealPath = join(recordDir, SEAL_FILE);
  let sealText: string | undefined;
  if (existsSync(sealPath)) {
    try {
      sealText = readLimited(sealPath, REVIEW_LIMITS.sealBytes, 'the seal').toString('utf8');
    } catch {
      sealText = '';
    }
  }
  const seal = await checkSeal(logBytes, sealText, recordCerts.keys.map((k) => k.key), trusted?.keys.map((k) => k.key));
  findings.push(...seal.findings);
  if (seal.status.present && !ended) {
    findings.push(finding('seal-without-end', `the record is sealed but its log does not end with ceremony-end (last line ${lineCount}${last ? `: ${last.event.step}` : ''})`, lineCount));
  }
  if (seal.status.valid) {
    const sealEvent = [...events].reverse().find((e) => e.event.step === 'seal');
    const claimed = sealEvent?.event.key?.fingerprint;
    if (claimed && claimed !== seal.status.signerFingerprint && claimed !== seal.status.signingKeyFingerprint) {
      findings.push(finding('seal-key-mismatch', `the seal event names key ${claimed} but the seal was made by ${seal.status.signerFingerprint}`, sealEvent!.line));
    }
  }
  if (!seal.status.present) {
    if (ended) findings.push(finding('seal-missing', `incomplete: the log ends with ceremony-end (line ${lineCount}) but log.jsonl.asc is missing`, lineCount));
    else findings.push(finding('not-finished', `incomplete, stopped after step ${last?.event.step ?? 'none'} (line ${last?.line ?? 0})`, last?.line));
  }

  checkBoundFiles(recordDir, events, keyFiles, findings);

  // manifest.json (written at seal time): parsed at the edge, then each artifact looked up.
  let manifest: Manifest | undefined;
  let artifacts: ArtifactCheck[] = [];
  const manifestPath = join(recordDir, MANIFEST_FILE);
  if (existsSync(manifestPath)) {
    try {
      manifest = manifestSchema.parse(JSON.parse(readLimited(manifestPath, REVIEW_LIMITS.manifestBytes, 'the manifest').toString('utf8')));
    } catch {
      findings.push(finding('manifest-malformed', 'manifest.json is not a valid manifest'));
    }
    if (manifest && start && manifest.ceremony !== start.ceremony) {
      findings.push(finding('manifest-ceremony-mismatch', `manifest.json belongs to ceremony ${manifest.ceremony}, not ${start.ceremony}`));
    }
    if (manifest) artifacts = await checkArtifacts(recordDir, manifest, findings, options.artifactsDir);
  } else if (seal.status.present) {
    if (!findings.some((f) => f.code === 'manifest-missing')) findings.push(finding('manifest-missing', 'the record is sealed but manifest.json is missing'));
  }

  if (start) checkFolderName(basename(recordDir), start, findings);

  const policy = checkPolicy(events, start?.kind, start?.parameters);
  findings.push(...policy.findings);

  const failed = events.some((e) => e.event.result === 'failed');
  const outcome: Review['outcome'] = !ended ? 'unfinished' : failed ? 'failed' : 'completed';
  const verdict = verdictOf(findings, outcome, events);
  const refusal = failed ? refusalOf(events) : undefined;
  const pinned = seal.status.valid && seal.status.pinned;
  const headline = headlineOf(verdict, pinned, refusal);
  const unsealedBecause = verdict === 'refused-unsealed' ? unsealableRefusalReason(events, findings) : undefined;
  const summary = summarize(verdict, headline, findings, events, seal.status, lineCount, refusal, unsealedBecause);
  return {
    dir: recordDir,
    verdict,
    headline,
    pinned,
    ...(refusal ? { refusal } : {}),
    ...(unsealedBecause ? { unsealedBecause } : {}),
    summary,
    ...(start ? { ceremonyId: start.ceremony, kind: start.kind, ...(start.parameters ? { parameters: start.parameters } : {}) } : {}),
    events,
    lineCount,
    ...(last ? { lastStep: last.event.step } : {}),
    outcome,
    seal: seal.status,
    keys: await Promise.all(recordCerts.keys.map((k) => summarizeCertificate(k.source, k.key))),
    ...(manifest ? { manifest } : {}),
    artifacts,
    policy: policy.checks,
    findings,
  };
}

/**
 * The key that made the seal as GnuPG names it: the (sub)key that signed, then its certificate's primary
 * (gpg --verify prints "using RSA key SUBKEY" and "Primary key fingerprint: PRIMARY").
 */
export function sealSignerText(seal: SealStatus): string {
  const signer = seal.signingKeyFingerprint ?? seal.signerFingerprint ?? 'an unknown key';
  return seal.signerFingerprint && seal.signingKeyFingerprint && seal.signingKeyFingerprint !== seal.signerFingerprint ? `subkey ${signer} of primary ${seal.signerFingerprint}` : `key ${signer}`;
}

function summarize(verdict: Verdict, headline: string, findings: Finding[], events: NumberedEvent[], seal: SealStatus, lines: number, refusal: Review['refusal'], unsealedBecause: string | undefined): string {
  const count = (cls: string) => findings.filter((f) => f.class === cls).length;
  const sealedBy = `sealed by ${sealSignerText(seal)}${seal.pinned ? ', a pinned certificate' : ", checked only against the record's own keys/ (give --trusted-key to pin)"}`;
  switch (verdict) {
    case 'tampered':
      return `${headline}: ${count('tampered')} finding(s), first: ${findings.find((f) => f.class === 'tampered')!.message}`;
    case 'policy-violation':
      return `${headline}: ${count('policy')} finding(s), first: ${findings.find((f) => f.class === 'policy')!.message}`;
    case 'incomplete': {
      const first = findings.find((f) => f.class === 'incomplete')!.message;
      // A refusal that no key could seal still says what was refused; unsealed, its end is not proven.
      return refusal ? `${first}; the log says the ceremony was refused at step ${refusal.step} (line ${refusal.line}): ${refusal.detail}` : first;
    }
    case 'refused':
      return `${headline} (line ${refusal?.line ?? '?'}): ${refusal?.code ? `${refusal.code}: ` : ''}${refusal?.detail ?? ''}; ${events.length} of ${lines} lines, ${sealedBy}`;
    case 'refused-unsealed':
      return `refused at step ${refusal!.step} (line ${refusal!.line}): ${refusal!.code}: ${refusal!.detail} — unsealed: ${unsealedBecause}, so nothing proves who wrote this log or that nothing was cut from it`;
    case 'intact':
      return `${headline}: ${events.length} of ${lines} lines, ${sealedBy}; the ceremony completed`;
  }
}

/**
 * The folder name (`20261122T013000Z-sign-3f9a1c2e`, record.ts) is not covered by the seal, but a name
 * that disagrees with the record's own start time, kind or ceremony ID is worth an auditor's look: it is
 * how a sealed record of one ceremony would be passed off as another (issue 12 item 11).
 */
const FOLDER_NAME = new RegExp(`^(\\d{8}T\\d{6}Z)-(${CEREMONY_KINDS.join('|')})-([0-9a-f]{8})$`);

function checkFolderName(folder: string, start: CeremonyEvent, findings: Finding[]): void {
  const expected = `${compactUtc(new Date(start.time))}-${start.kind}-${start.ceremony.slice(0, 8)}`;
  if (folder === expected) return;
  const m = folder.match(FOLDER_NAME);
  // Records written before the folder and line 1 shared one clock reading may be a second apart.
  const folderTime = m ? Date.parse(m[1]!.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')) : NaN;
  const lag = Date.parse(start.time) - folderTime;
  const timeOk = lag >= 0 && lag < 2000;
  if (m && timeOk && m[2] === start.kind && m[3] === start.ceremony.slice(0, 8)) return;
  const differs = !m ? ['its form'] : [!timeOk ? 'start time' : '', m[2] !== start.kind ? 'kind' : '', m[3] !== start.ceremony.slice(0, 8) ? 'ceremony ID' : ''].filter(Boolean);
  findings.push(finding('folder-name-mismatch', `the folder name ${folder.slice(0, 120)} disagrees with the record in ${differs.join(', ')}: the record says ${expected}`));
}
