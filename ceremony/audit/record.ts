/**
 * The writer of a ceremony record (DESIGN §4, docs/RECORD-FORMAT.md):
 *
 *   <recordDir>/<20261122T013000Z>-<kind>-<8 hex>/
 *     log.jsonl      one event per line, hash-chained (each line's `prev` = SHA-256 of the line before)
 *     keys/*.asc     the public certificates used (never a private key: addKey refuses one)
 *     manifest.json  the artifacts with SHA-256 and size
 *     log.jsonl.asc  the seal: an OpenPGP detached signature over log.jsonl, made on the HSM
 *
 * Each append() writes one whole line with one write(2) and fsyncs before returning, so a step is only
 * reported done once its event is on disk, and a process killed at any point leaves a log whose every
 * line is complete and chained: the reviewer calls it "incomplete, stopped after step X", not tampered.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, writeSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { CeremonyError, asCeremonyError } from '../errors.js';
import { hashBytes } from '../crypto.js';
import { hashFileOnce } from '../hash-pass.js';
import { createFileExclusive, fsyncDir, readInputFile } from '../files.js';
import {
  GENESIS_PREV,
  RECORD_FORMAT,
  ceremonyEventSchema,
  ceremonyParametersSchema,
  eventInputSchema,
  type Actor,
  type ArtifactRole,
  type CeremonyEvent,
  type CeremonyKind,
  type CeremonyParameters,
  type CeremonyStep,
  type EventInput,
  type FileRef,
  type Manifest,
  type ManifestArtifact,
} from './events.js';
import type { RecordSealer } from './seal.js';

export const LOG_FILE = 'log.jsonl';
export const SEAL_FILE = 'log.jsonl.asc';
export const MANIFEST_FILE = 'manifest.json';
export const KEYS_DIR = 'keys';

export interface CreateRecordOptions {
  /** The parent folder (`--record-dir`, default ./ceremony-records/); created if missing. */
  recordDir: string;
  kind: CeremonyKind;
  /** What the first line commits to (attended is given separately). */
  parameters: Omit<CeremonyParameters, 'attended'>;
  attended: boolean;
  /** Who started the ceremony (default: system). */
  actor?: Actor;
  now?: () => Date;
}

export interface SealedRecord {
  dir: string;
  ceremonyId: string;
  /** SHA-256 (hex) of the sealed log.jsonl. */
  logSha256: string;
  sealFingerprint: string;
}

/** `20261122T013000Z`: sorts by time as text. */
export function compactUtc(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/**
 * A file the writer put into its own record folder, read back to bind or sign it: no size limit (the
 * writer made it), but read as any input is (files.ts), so a FIFO or another file swapped in meanwhile
 * is refused rather than waited on or read by its path a second time.
 */
function readOwnFile(path: string, what: string): Buffer {
  return readInputFile(path, what, Number.POSITIVE_INFINITY);
}

/** Hash a file in one streaming pass into a FileRef for an event's inputs/outputs. */
export async function describeFile(path: string, name: string = basename(path)): Promise<FileRef> {
  try {
    const { digests, size } = await hashFileOnce(path, { what: 'file', algorithms: ['sha256'] });
    return { name, sha256: digests.sha256.toString('hex'), size };
  } catch (e) {
    throw new CeremonyError('INPUT_UNREADABLE', `the file ${path} cannot be read to record its hash`, { cause: e });
  }
}

function formatRefusal(e: unknown): CeremonyError {
  const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
  return new CeremonyError('INTERNAL', `the ceremony tried to record an event the record format does not allow (${msg.slice(0, 200)})`, { cause: e });
}

const ARMORED_PUBLIC_KEY = /^-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n[\s\S]+\r?\n-----END PGP PUBLIC KEY BLOCK-----\r?\n?$/;
const ARMORED_SIGNATURE = /^-----BEGIN PGP SIGNATURE-----\r?\n[\s\S]+\r?\n-----END PGP SIGNATURE-----\r?\n?$/;

export class CeremonyRecord {
  /** The record's folder. */
  readonly dir: string;
  /** 32 hex: the ceremony ID carried by every line. */
  readonly id: string;
  readonly kind: CeremonyKind;
  private readonly now: () => Date;
  private fd: number | undefined;
  private seq = 0;
  private prev = GENESIS_PREV;
  private readonly artifacts: ManifestArtifact[] = [];
  private lastStepName: CeremonyStep = 'ceremony-start';
  private failedAt: CeremonyStep | undefined;
  private ended = false;

  private constructor(dir: string, id: string, kind: CeremonyKind, fd: number, now: () => Date) {
    this.dir = dir;
    this.id = id;
    this.kind = kind;
    this.fd = fd;
    this.now = now;
  }

  /**
   * Make a new record folder (never reusing one) and write its first line, 'ceremony-start', which
   * commits to the ceremony's parameters.
   */
  static create(opts: CreateRecordOptions): CeremonyRecord {
    const now = opts.now ?? (() => new Date());
    let parameters: CeremonyParameters;
    try {
      parameters = ceremonyParametersSchema.parse({ ...opts.parameters, attended: opts.attended });
    } catch (e) {
      throw formatRefusal(e);
    }
    const parent = resolve(opts.recordDir);
    try {
      mkdirSync(parent, { recursive: true });
    } catch (e) {
      throw new CeremonyError('OUTPUT_FAILED', `the record folder ${parent} cannot be created`, { cause: e });
    }
    const started = now();
    for (let attempt = 0; attempt < 8; attempt++) {
      const id = randomBytes(16).toString('hex');
      const dir = join(parent, `${compactUtc(started)}-${opts.kind}-${id.slice(0, 8)}`);
      try {
        mkdirSync(dir); // not recursive: fails if it exists, so a record is never overwritten
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw new CeremonyError('OUTPUT_FAILED', `the record folder ${dir} cannot be created`, { cause: e });
      }
      let fd: number;
      try {
        mkdirSync(join(dir, KEYS_DIR));
        fd = openSync(join(dir, LOG_FILE), 'ax', 0o644);
        fsyncDir(dir);
        fsyncDir(parent);
      } catch (e) {
        throw new CeremonyError('OUTPUT_FAILED', `the record ${dir} cannot be started`, { cause: e });
      }
      const record = new CeremonyRecord(dir, id, opts.kind, fd, now);
      record.writeEvent({
        // The folder name and line 1 say the same start time (the reviewer compares them).
        time: started,
        step: 'ceremony-start',
        actor: opts.actor ?? { role: 'system' },
        result: parameters.overrides.length > 0 ? 'override' : 'ok',
        detail: `${parameters.command} started${parameters.attended ? '' : ' unattended'}${parameters.overrides.length ? ` with override ${parameters.overrides.join(', ')}` : ''}`,
        parameters,
      });
      return record;
    }
    throw new CeremonyError('OUTPUT_FAILED', `no free record folder name under ${parent}`);
  }

  /** The last step recorded. */
  get lastStep(): CeremonyStep {
    return this.lastStepName;
  }

  /** The step that failed, if one did. */
  get failedStep(): CeremonyStep | undefined {
    return this.failedAt;
  }

  /**
   * Record one step's event; returns only after the line is on disk (write + fsync). Only typed fields
   * are accepted (events.ts): unknown fields are refused, never copied.
   */
  append(input: EventInput): CeremonyEvent {
    let parsed;
    try {
      parsed = eventInputSchema.parse(input);
    } catch (e) {
      throw formatRefusal(e);
    }
    const { actor, ...rest } = parsed;
    return this.writeEvent({ ...rest, actor: actor ?? { role: 'system' } });
  }

  /** Record that `step` failed with `error` (its code and one-sentence message; never a stack). */
  fail(step: Exclude<CeremonyStep, 'ceremony-start' | 'ceremony-end'>, error: unknown, actor?: Actor): CeremonyEvent {
    const err = asCeremonyError(error);
    // eslint-disable-next-line no-control-regex
    const detail = err.message.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 500);
    return this.append({ step, result: 'failed', detail, code: err.code, actor });
  }

  /** Put a public certificate into keys/<name>.asc. Refuses anything but an armored PUBLIC KEY BLOCK. */
  addKey(name: string, armoredCertificate: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name)) {
      throw new CeremonyError('INTERNAL', `"${name.slice(0, 40)}" is not a usable key file name in a record`);
    }
    if (!ARMORED_PUBLIC_KEY.test(armoredCertificate)) {
      throw new CeremonyError('INTERNAL', 'only an armored OpenPGP public certificate can be put into a record');
    }
    const file = join(this.dir, KEYS_DIR, name.endsWith('.asc') ? name : `${name}.asc`);
    if (existsSync(file)) {
      if (readOwnFile(file, 'record key file').toString('utf8') === armoredCertificate) return file;
      throw new CeremonyError('OUTPUT_EXISTS', `the record already holds a different certificate named ${basename(file)}`);
    }
    createFileExclusive(file, armoredCertificate);
    return file;
  }

  /**
   * Hash an artifact (streaming) and list it in manifest.json at seal time. Its path is stored relative
   * to the record's parent folder (the reviewer looks it up there), or absolute on another root.
   */
  async addArtifact(path: string, role: ArtifactRole, name: string = basename(path)): Promise<ManifestArtifact> {
    const ref = await describeFile(path, name);
    return this.addArtifactWithHash(path, role, { ...ref, size: ref.size ?? 0 });
  }

  /**
   * List an artifact whose SHA-256 the ceremony already computed over exactly these bytes (while
   * verifying or writing it), so a large file is not read again just for the manifest.
   */
  addArtifactWithHash(path: string, role: ArtifactRole, ref: FileRef & { size: number }): ManifestArtifact {
    const abs = resolve(path);
    const rel = relative(dirname(this.dir), abs);
    const artifact: ManifestArtifact = {
      name: ref.name,
      path: isAbsolute(rel) ? abs : rel.split('\\').join('/'),
      sha256: ref.sha256,
      size: ref.size,
      role,
    };
    this.artifacts.push(artifact);
    return artifact;
  }

  /**
   * Finish the record: manifest.json, the 'seal' event (binding manifest.json and keys/ by hash into the
   * log), the final 'ceremony-end' event, then log.jsonl.asc = sealer.sign(log bytes).
   */
  async seal(sealer: RecordSealer): Promise<SealedRecord> {
    if (this.ended) throw new CeremonyError('INTERNAL', 'this ceremony record is already sealed');
    const fingerprint = sealer.fingerprint.toUpperCase();
    this.addKey(`seal-${fingerprint.slice(-16)}`, sealer.certificateArmored);
    const manifest: Manifest = { format: RECORD_FORMAT, ceremony: this.id, kind: this.kind, artifacts: this.artifacts };
    const manifestText = JSON.stringify(manifest, null, 2) + '\n';
    createFileExclusive(join(this.dir, MANIFEST_FILE), manifestText);
    const bound: FileRef[] = [{ name: MANIFEST_FILE, sha256: hashBytes('sha256', Buffer.from(manifestText)).toString('hex'), size: Buffer.byteLength(manifestText) }];
    for (const f of readdirSync(join(this.dir, KEYS_DIR)).sort()) {
      const bytes = readOwnFile(join(this.dir, KEYS_DIR, f), 'record key file');
      bound.push({ name: `${KEYS_DIR}/${f}`, sha256: hashBytes('sha256', bytes).toString('hex'), size: bytes.length });
    }
    this.append({ step: 'seal', detail: `sealing the record with ${sealer.description}`.slice(0, 500), key: { fingerprint }, outputs: bound });
    this.writeEvent({
      step: 'ceremony-end',
      actor: { role: 'system' },
      result: this.failedAt ? 'failed' : 'ok',
      detail: this.failedAt ? `ceremony stopped: step ${this.failedAt} failed` : 'ceremony completed',
    });
    this.ended = true;
    this.closeLog();
    const logBytes = readOwnFile(join(this.dir, LOG_FILE), 'record log');
    let signature: string;
    try {
      signature = await sealer.sign(logBytes);
    } catch (e) {
      throw asCeremonyError(e, 'HSM_FAILURE');
    }
    if (!ARMORED_SIGNATURE.test(signature)) {
      throw new CeremonyError('INTERNAL', 'the seal key did not return an armored OpenPGP signature');
    }
    createFileExclusive(join(this.dir, SEAL_FILE), signature);
    return { dir: this.dir, ceremonyId: this.id, logSha256: hashBytes('sha256', logBytes).toString('hex'), sealFingerprint: fingerprint };
  }

  /**
   * Stop writing without a seal (the record stays a valid, incomplete log). After a failure the log
   * still gets its last line, 'ceremony-end' failed, so a reviewer tells a refusal that could not be
   * sealed from a ceremony that was killed (issue 13); without a seal neither is proven.
   */
  close(): void {
    if (this.failedAt && !this.ended && this.fd !== undefined) {
      try {
        this.writeEvent({ step: 'ceremony-end', actor: { role: 'system' }, result: 'failed', detail: `ceremony stopped: step ${this.failedAt} failed; no seal key could be reached, so the record is not sealed` });
        this.ended = true;
      } catch {
        // the record itself is broken; it reviews as incomplete
      }
    }
    this.closeLog();
  }

  private closeLog(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  private writeEvent(fields: Omit<CeremonyEvent, 'v' | 'seq' | 'time' | 'ceremony' | 'kind' | 'prev'> & { time?: Date }): CeremonyEvent {
    if (this.fd === undefined || this.ended) throw new CeremonyError('INTERNAL', 'this ceremony record is closed');
    // Fixed field order (events.ts): the bytes are what the chain and the seal cover.
    const event: CeremonyEvent = ceremonyEventSchema.parse({
      v: 1,
      seq: this.seq + 1,
      time: (fields.time ?? this.now()).toISOString(),
      ceremony: this.id,
      kind: this.kind,
      step: fields.step,
      actor: fields.actor,
      result: fields.result,
      detail: fields.detail,
      parameters: fields.parameters,
      inputs: fields.inputs,
      outputs: fields.outputs,
      key: fields.key,
      quorum: fields.quorum,
      share: fields.share,
      agreement: fields.agreement,
      code: fields.code,
      prev: this.prev,
    });
    const line = JSON.stringify(event);
    const bytes = Buffer.from(line + '\n', 'utf8');
    try {
      // One write(2) of the whole line, then fsync: a kill leaves whole lines only.
      let off = 0;
      while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
      fsyncSync(this.fd);
    } catch (e) {
      throw new CeremonyError('OUTPUT_FAILED', `the audit log ${join(this.dir, LOG_FILE)} cannot be written`, { cause: e });
    }
    this.seq = event.seq;
    this.prev = hashBytes('sha256', Buffer.from(line, 'utf8')).toString('hex');
    this.lastStepName = event.step;
    if (event.result === 'failed' && !this.failedAt) this.failedAt = event.step;
    return event;
  }
}
