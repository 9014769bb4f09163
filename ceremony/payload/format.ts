/**
 * The CrAU container (flatcar/update_engine `update_metadata.proto` header comment, `delta_metadata.cc`
 * ParsePayload): "CrAU", a big-endian u64 format version (1), a big-endian u64 manifest length, the
 * DeltaArchiveManifest protobuf, then the data blobs; when signed, the Signatures protobuf sits at
 * `signatures_offset` in the blob area and ends the file.
 *
 * This is the edge where an untrusted payload becomes a typed value: every length is checked against
 * the file size and a limit before anything is read, and the manifest must decode and re-encode to the
 * same bytes (or signing could not be byte-identical to delta_generator's).
 */
import { CeremonyError } from '../errors.js';
import { openRegularFile } from '../files.js';
import {
  ManifestType,
  has,
  toSafeNumber,
  type DeltaArchiveManifest,
  type InstallOperation,
} from './schema.js';

export const CRAU_MAGIC = Buffer.from('CrAU', 'ascii');
/** kDeltaManifestOffset: magic (4) + version (8) + manifest size (8). */
export const HEADER_SIZE = 20;
export const FORMAT_VERSION = 1n;

/** The 20-byte header (update_engine payload_constants.cc): "CrAU", u64 BE version 1, u64 BE manifest length. */
export function crauHeader(manifestLength: number): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  CRAU_MAGIC.copy(h, 0);
  h.writeBigUInt64BE(FORMAT_VERSION, 4);
  h.writeBigUInt64BE(BigInt(manifestLength), 12);
  return h;
}

export const PAYLOAD_LIMITS = {
  /** A real manifest is a few hundred KiB at most; 16 MiB bounds what we read into memory. */
  maxManifestBytes: 16 * 1024 * 1024,
  /** Several RSA-4096 signatures take ~2 KiB; 1 MiB bounds the Signatures message we read. */
  maxSignaturesBytes: 1024 * 1024,
} as const;

export interface PayloadMetadata {
  fileSize: number;
  /** The 20-byte header exactly as it is in the file. */
  headerBytes: Buffer;
  /** The manifest exactly as it is in the file. */
  manifestBytes: Buffer;
  manifest: DeltaArchiveManifest;
  /** HEADER_SIZE + manifest length: where the blob area starts. */
  metadataSize: number;
  /** Bytes after the manifest (the blobs, and the Signatures message if signed). */
  dataSize: number;
  /** Present when the manifest declares signatures (signatures_offset and signatures_size). */
  signatures?: { offset: number; size: number };
}

function malformed(what: string, message: string, cause?: unknown): CeremonyError {
  return new CeremonyError('PAYLOAD_MALFORMED', `${what} ${message}`, cause === undefined ? {} : { cause });
}

/** Check the 20-byte header; returns the manifest length. */
export function parseHeader(header: Buffer, fileSize: number, what: string): number {
  if (fileSize < HEADER_SIZE || header.length < HEADER_SIZE) {
    throw malformed(what, `is truncated: it is shorter than the ${HEADER_SIZE}-byte CrAU header`);
  }
  if (!header.subarray(0, 4).equals(CRAU_MAGIC)) throw malformed(what, 'is not a CrAU update payload (wrong magic)');
  const version = header.readBigUInt64BE(4);
  if (version !== FORMAT_VERSION) throw malformed(what, `has CrAU format version ${version}; only version 1 is supported`);
  const length = header.readBigUInt64BE(12);
  if (length > BigInt(PAYLOAD_LIMITS.maxManifestBytes)) {
    throw malformed(what, `declares a ${length}-byte manifest, more than the ${PAYLOAD_LIMITS.maxManifestBytes}-byte limit`);
  }
  const n = Number(length);
  if (HEADER_SIZE + n > fileSize) throw malformed(what, `is truncated: its ${n}-byte manifest runs past the end of the file`);
  return n;
}

function allOperations(m: DeltaArchiveManifest): InstallOperation[] {
  return [
    ...(m.partition_operations ?? []),
    ...(m.noop_operations ?? []),
    ...(m.procedures ?? []).flatMap((p) => p.operations ?? []),
  ];
}

export interface ManifestRules {
  /**
   * Require that the manifest re-encodes to exactly its own bytes. Signing needs this (it rewrites the
   * manifest and must match delta_generator byte for byte); verifying does not: update_engine parses
   * the manifest with protobuf's ParseFromArray (payload_metadata.cc), which skips unknown fields and
   * takes fields in any order, and hashes the bytes as they are.
   */
  reproducible: boolean;
}

/** Decode and check the manifest against the file it came from. */
export function parseManifest(headerBytes: Buffer, manifestBytes: Buffer, fileSize: number, what: string, rules: ManifestRules): PayloadMetadata {
  let manifest: DeltaArchiveManifest;
  try {
    manifest = ManifestType.decode(manifestBytes) as unknown as DeltaArchiveManifest;
  } catch (e) {
    throw malformed(what, 'has a manifest that is not a valid DeltaArchiveManifest protobuf', e);
  }
  // Signing rewrites the manifest; the result matches delta_generator's only if our encoder reproduces
  // the input exactly (same fields, field-number order, canonical varints, no unknown fields).
  const again = rules.reproducible ? Buffer.from(ManifestType.encode(manifest as unknown as Record<string, unknown>).finish()) : manifestBytes;
  if (!again.equals(manifestBytes)) {
    throw malformed(what, 'has a manifest with fields or encodings that cannot be reproduced byte for byte');
  }
  const metadataSize = HEADER_SIZE + manifestBytes.length;
  const dataSize = fileSize - metadataSize;
  const out: PayloadMetadata = { fileSize, headerBytes, manifestBytes, manifest, metadataSize, dataSize };

  const hasOffset = has(manifest, 'signatures_offset');
  const hasSize = has(manifest, 'signatures_size');
  if (hasOffset !== hasSize) throw malformed(what, 'declares only one of signatures_offset and signatures_size');
  if (hasOffset) {
    const offset = toSafeNumber(manifest.signatures_offset);
    const size = toSafeNumber(manifest.signatures_size);
    // payload_signer.cc VerifySignedPayload: the Signatures message ends the file exactly.
    if (offset === undefined || size === undefined || metadataSize + offset + size !== fileSize) {
      throw malformed(what, 'declares signatures that do not end exactly at the end of the file');
    }
    if (size > PAYLOAD_LIMITS.maxSignaturesBytes) {
      throw malformed(what, `declares a ${size}-byte signature block, more than the ${PAYLOAD_LIMITS.maxSignaturesBytes}-byte limit`);
    }
    out.signatures = { offset, size };
  }
  for (const op of allOperations(manifest)) {
    if (!has(op, 'data_length')) continue;
    const end = (op.data_offset ?? 0) + (op.data_length ?? 0);
    if (end > dataSize) throw malformed(what, 'has an operation whose data lies beyond the end of the file');
  }
  return out;
}

/** Parse a payload held in memory (small payloads, tests, fuzzing). Never reads past `bytes`. */
export function parsePayloadBytes(bytes: Buffer, what = 'the payload', rules: ManifestRules = { reproducible: true }): PayloadMetadata {
  const header = bytes.subarray(0, HEADER_SIZE);
  const n = parseHeader(header, bytes.length, what);
  return parseManifest(header, bytes.subarray(HEADER_SIZE, HEADER_SIZE + n), bytes.length, what, rules);
}

/**
 * Positional reads of one open payload: a FileHandle in the product. Everything that signs reads
 * through this, so a test can inject a source whose content changes between reads (the writer who
 * swaps bytes between the check and the signature).
 */
export interface PayloadSource {
  readonly size: number;
  /** Read up to `length` bytes at `position` into `buffer` at `offset`; 0 at the end of the file. */
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

export type OpenPayloadSource = (path: string, what: string) => Promise<PayloadSource>;

/** Open a payload file: a regular file only, checked on the descriptor without blocking (files.ts). */
export const openPayloadSource: OpenPayloadSource = async (path, what) => {
  const { fh, size } = await openRegularFile(path, what);
  return {
    size,
    async read(buffer, offset, length, position) {
      try {
        return (await fh.read(buffer, offset, length, position)).bytesRead;
      } catch (e) {
        // An I/O error of the input (a failing USB stick) is the input's, not the output's.
        throw new CeremonyError('INPUT_UNREADABLE', `${what} cannot be read`, { cause: e });
      }
    },
    close: () => fh.close(),
  };
};

export async function readExactly(src: PayloadSource, length: number, position: number, what: string): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = await src.read(buf, done, length - done, position + done);
    if (n === 0) throw malformed(what, 'changed size while it was being read');
    done += n;
  }
  return buf;
}

/** Read and check the header and manifest from an open payload (reads at most 20 + 16 MiB, each byte once). */
export async function readMetadata(src: PayloadSource, what: string, rules: ManifestRules): Promise<PayloadMetadata> {
  const fileSize = src.size;
  const header = fileSize >= HEADER_SIZE ? await readExactly(src, HEADER_SIZE, 0, what) : Buffer.alloc(0);
  const n = parseHeader(header, fileSize, what);
  const manifestBytes = await readExactly(src, n, HEADER_SIZE, what);
  return parseManifest(header, manifestBytes, fileSize, what, rules);
}

/** Read a payload's header and manifest from disk, with the limits above (as for signing, unless told). */
export async function readPayloadMetadata(path: string, rules: ManifestRules = { reproducible: true }): Promise<PayloadMetadata> {
  const what = `the payload ${path}`;
  const src = await openPayloadSource(path, what);
  try {
    return await readMetadata(src, what, rules);
  } finally {
    await src.close();
  }
}
