/**
 * Signing a payload in two halves, so that a ceremony hashes each payload once and can sign the hash
 * with several keys (or on several tokens) in between:
 *
 *   const draft = await preparePayload({ input, output, signatureSizes: [256] });
 *   const sig = await signer.signDigest('sha256', draft.hash);
 *   await draft.commit([sig]);          // or draft.discard()
 *
 * preparePayload does what `delta_generator --signature_size 256[:256] --out_hash_file` does
 * (payload_signer.cc HashPayloadForSigning / AddSignatureOpToPayload; delta_diff_generator.cc
 * AddSignatureOp), but streaming: it writes the payload with the signature placeholder to a temp file
 * beside the output and hashes the bytes as it writes them. commit appends the Signatures message (what
 * `delta_generator --signature_file` adds), fsyncs, and links the temp file into place (never replacing
 * anything, files.ts); until then no output exists, and a failure removes the temp file.
 *
 * Each region of the input is read once, into the stage buffers: the SHA-256 of the input (compared
 * with the SHA-256 it was verified with), the hash to sign and the bytes written all come from those
 * same buffers, so a writer who changes the file between reads cannot get unverified bytes signed.
 */
import { rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CeremonyError, isCeremonyError } from '../errors.js';
import { fsyncDir, moveIntoPlaceExclusive, tempPathFor } from '../files.js';
import { HashLane, prestartHashLanes } from '../hash-lane.js';
import { crauHeader, openPayloadSource, readMetadata, readPayloadMetadata, type OpenPayloadSource, type PayloadMetadata, type PayloadSource } from './format.js';
import { ManifestType, OP_REPLACE, SPARSE_HOLE, uint64, type DeltaArchiveManifest } from './schema.js';
import { encodeSignatures, signaturesBlobSize, signatureVersions } from './signatures.js';
import { STAGE_BYTES, StagedOutput } from './output-file.js';

/** delta_diff_generator.cc kBlockSize: the no-op's extent is counted in 4096-byte blocks, whatever block_size says. */
const NOOP_BLOCK_SIZE = 4096;

export interface Progress {
  /** Bytes of the payload processed so far. */
  bytes: number;
  total: number;
}

export interface PrepareOptions {
  input: string;
  output: string;
  /** One entry per signature, in order: each key's modulus size in bytes (256 for RSA-2048). */
  signatureSizes: readonly number[];
  /** Replace an existing output file (default: refuse with OUTPUT_EXISTS). */
  overwrite?: boolean;
  onProgress?: (p: Progress) => void;
  /** Aborting stops the copy and removes the temp file (CANCELLED). */
  signal?: AbortSignal;
  /** How the input is opened (default: the file, as a regular file). Tests inject a changing source. */
  openInput?: OpenPayloadSource;
}

export interface PayloadDraft {
  readonly input: string;
  readonly output: string;
  /** SHA-256 of the unsigned input as read: of the very bytes hashed for the signature and written. */
  readonly inputSha256: Buffer;
  readonly inputSize: number;
  /** The hash to sign: SHA-256 over header + manifest with placeholder + blobs (= `--out_hash_file`). */
  readonly hash: Buffer;
  readonly signatureSizes: readonly number[];
  readonly versions: readonly number[];
  /** Where the Signatures message starts in the blob area, and its size. */
  readonly signaturesOffset: number;
  readonly signaturesSize: number;
  readonly metadataSize: number;
  /** Append the signatures (in order, each of its declared size), fsync and move the file into place. */
  commit(signatures: readonly Uint8Array[]): Promise<CommittedPayload>;
  /** Remove the temp file; safe to call more than once and after commit. */
  discard(): Promise<void>;
}

export interface CommittedPayload {
  output: string;
  /** SHA-256 of the whole signed output file. */
  outputSha256: Buffer;
  size: number;
}

/**
 * The manifest with the signature placeholder, exactly as AddSignatureOp builds it: signatures_offset
 * is the size of the blob area of the unsigned payload, and one REPLACE no-op operation pointing at the
 * signature block, written to a sparse hole (start_block UINT64_MAX), is appended to noop_operations.
 */
export function addSignaturePlaceholder(meta: PayloadMetadata, blobSize: number): Buffer {
  const m = ManifestType.decode(meta.manifestBytes) as unknown as DeltaArchiveManifest;
  const offset = meta.dataSize;
  m.signatures_offset = uint64(offset);
  m.signatures_size = uint64(blobSize);
  (m.noop_operations ??= []).push({
    type: OP_REPLACE,
    data_offset: offset,
    data_length: blobSize,
    dst_extents: [{ start_block: SPARSE_HOLE, num_blocks: uint64(Math.ceil(blobSize / NOOP_BLOCK_SIZE)) }],
  });
  return Buffer.from(ManifestType.encode(m as unknown as Record<string, unknown>).finish());
}

/** A payload that carries a signature block is not signed again (delta_generator signs unsigned payloads only). */
function refuseSigned(meta: PayloadMetadata, input: string): void {
  if (meta.signatures) {
    throw new CeremonyError(
      'PAYLOAD_ALREADY_SIGNED',
      `${input} is already signed (its manifest declares a ${meta.signatures.size}-byte signature block); sign the unsigned payload instead`,
    );
  }
}

/**
 * Whether `input` can be signed, from its header and manifest alone: a CrAU payload that parses under
 * the signing rules, whose operations lie inside the file, and that is not signed yet. A ceremony asks
 * before its confirmation and login, so that nobody confirms, and types a PIN, to sign what the pass
 * would refuse. Only advice: the pass (preparePayload) checks the bytes it signs again.
 */
export async function checkSignablePayload(input: string): Promise<PayloadMetadata> {
  const meta = await readPayloadMetadata(input, { reproducible: true });
  refuseSigned(meta, input);
  return meta;
}

/** Refuse an output that is the input itself, or that exists when overwriting was not asked for. */
async function checkOutput(input: string, output: string, overwrite: boolean): Promise<void> {
  const [inSt, outSt] = await Promise.all([stat(input).catch(() => undefined), stat(output).catch(() => undefined)]);
  if (!outSt) return;
  if (inSt && inSt.ino === outSt.ino && inSt.dev === outSt.dev) {
    throw new CeremonyError('USAGE', `the output ${output} is the input payload itself; write the signed payload to a new file`);
  }
  if (!overwrite) throw new CeremonyError('OUTPUT_EXISTS', `${output} already exists; choose another name or pass --force to replace it`);
}

/**
 * Write the output (head, then the input's blob area) stage by stage. Reads go straight into the stage
 * buffers at their output positions and run in libuv's thread pool, as do the writes; each stage is
 * hashed twice where it lies, each hash on its own thread — the output bytes for the signature, the
 * input's bytes (the blob part) for the input's SHA-256 — and is refilled only after both hashes and
 * its write are done. No byte of the blob area is read twice. The main thread only moves stages.
 */
async function writeStaged(
  out: StagedOutput,
  head: Buffer,
  src: PayloadSource,
  blobStart: number,
  blobLength: number,
  outputHash: HashLane,
  inputHash: HashLane,
  tick: (inputBytes: number) => void,
  signal: AbortSignal | undefined,
  what: string,
): Promise<void> {
  const total = head.length + blobLength;
  const count = Math.ceil(total / STAGE_BYTES);
  const changed = () => new CeremonyError('PAYLOAD_MALFORMED', `${what} changed size while it was being read`);
  /** Fill stage i with output bytes [i*S, i*S + len): the head part copied, the rest read from the input. */
  const fill = async (i: number): Promise<Buffer> => {
    const start = i * STAGE_BYTES;
    const len = Math.min(STAGE_BYTES, total - start);
    const stage = out.stages[i % out.stages.length]!;
    if (start < head.length) head.copy(stage, 0, start, Math.min(head.length, start + len));
    let at = Math.max(start, head.length);
    while (at < start + len) {
      const n = await src.read(stage, at - start, start + len - at, blobStart + (at - head.length));
      if (n === 0) throw changed();
      at += n;
    }
    return stage.subarray(0, len);
  };
  const n = out.stages.length;
  /** Per stage: settled when its buffer may be refilled (written, and hashed by the input hasher). */
  const released: Promise<unknown>[] = [];
  let pendingFill: Promise<Buffer> | undefined = count > 0 ? fill(0) : undefined;
  try {
    for (let i = 0; i < count; i++) {
      const chunk = await pendingFill!;
      // Stage (i+1) % n is free once stage i+1-n is released; several writes may be in flight (disk queue depth).
      if (i + 1 < count) {
        const previous = released[i + 1 - n] ?? Promise.resolve();
        pendingFill = previous.then(() => fill(i + 1));
      } else {
        pendingFill = undefined;
      }
      const inputPart = chunk.subarray(Math.max(0, Math.min(chunk.length, head.length - i * STAGE_BYTES)));
      if (signal?.aborted) throw new CeremonyError('CANCELLED', 'signing was cancelled; no output was written');
      const both = Promise.all([out.writeStage(chunk, i * STAGE_BYTES), outputHash.updateView(chunk), inputHash.updateView(inputPart)]);
      both.catch(() => {}); // awaited below or through the fill that waits for it
      released.push(both);
      tick(Math.max(0, Math.min(blobLength, i * STAGE_BYTES + chunk.length - head.length)));
    }
    await Promise.all(released);
  } finally {
    // Settle anything still in flight before the caller closes the files.
    await Promise.allSettled([pendingFill, ...released]);
  }
}

/** How many hashing lanes a signing pass takes: the input's and the output's. */
const PASS_LANES = 2;

/**
 * Start the signing pass's hashing threads before it needs them: started at the beginning of a ceremony,
 * they come up on the other core while it loads, logs in and opens its record (hash-lane.ts).
 */
export function prestartSigningPass(): void {
  prestartHashLanes(PASS_LANES);
}

export async function preparePayload(opts: PrepareOptions): Promise<PayloadDraft> {
  const { input, output, signatureSizes } = opts;
  const versions = signatureVersions(signatureSizes.length);
  for (const s of signatureSizes) {
    if (!Number.isInteger(s) || s < 1 || s > 2048) throw new CeremonyError('USAGE', `a signature size of ${s} bytes is not supported`);
  }
  await checkOutput(input, output, opts.overwrite ?? false);
  const what = `the payload ${input}`;
  const src = await (opts.openInput ?? openPayloadSource)(input, what);
  const size = src.size;
  const tmp = tempPathFor(output);
  let dst: StagedOutput | undefined;
  let inputHasher: HashLane | undefined;
  let outputHasher: HashLane | undefined;
  let state: 'open' | 'committed' | 'discarded' = 'open';
  const removeTemp = async () => {
    await outputHasher?.terminate();
    outputHasher = undefined;
    await dst?.close();
    dst = undefined;
    await rm(tmp, { force: true });
  };
  try {
    const meta = await readMetadata(src, what, { reproducible: true });
    refuseSigned(meta, input);
    const blobSize = signaturesBlobSize(signatureSizes);
    const manifest = addSignaturePlaceholder(meta, blobSize);
    const head = Buffer.concat([crauHeader(manifest.length), manifest]);

    try {
      dst = await StagedOutput.create(tmp);
    } catch (e) {
      throw new CeremonyError('OUTPUT_FAILED', `cannot create a temporary file beside ${output}`, { cause: e });
    }
    // Two lanes (hash-lane.ts) over the stage buffers, each on its own core, so signing costs one SHA-256
    // pass of wall time: the output's, whose state before the signature block is the hash that is signed,
    // and the input's, compared with the one the payload was verified with (its header and manifest from
    // the buffers they were parsed from). Both are of exactly the bytes written, never of a second read,
    // which a writer could answer with other bytes (issue 12, item 1).
    inputHasher = HashLane.start(dst.pool, ['sha256'], `the input ${input}`);
    outputHasher = HashLane.start(dst.pool, ['sha256'], `the output ${output}`);
    const metadataHashed = inputHasher.updateCopy(Buffer.concat([meta.headerBytes, meta.manifestBytes]));
    metadataHashed.catch(() => {}); // awaited after the copy
    opts.onProgress?.({ bytes: meta.metadataSize, total: size });
    await writeStaged(dst, head, src, meta.metadataSize, meta.dataSize, outputHasher, inputHasher, (n) => opts.onProgress?.({ bytes: meta.metadataSize + n, total: size }), opts.signal, what);
    await metadataHashed;
    const inputSha256 = await inputHasher.digest('sha256');
    await inputHasher.terminate();
    inputHasher = undefined;

    // The output hash continues over the Signatures message; the signed hash stops before it.
    const hash = await outputHasher.peek('sha256');
    const outputHash = outputHasher;
    const signaturesOffset = meta.dataSize;
    const end = head.length + meta.dataSize;
    const file = dst;

    const draft: PayloadDraft = {
      input,
      output,
      inputSha256,
      inputSize: size,
      hash,
      signatureSizes: [...signatureSizes],
      versions,
      signaturesOffset,
      signaturesSize: blobSize,
      metadataSize: head.length,
      async commit(signatures) {
        if (state !== 'open') throw new CeremonyError('INTERNAL', 'this payload draft was already committed or discarded');
        try {
          if (signatures.length !== signatureSizes.length || signatures.some((s, i) => s.length !== signatureSizes[i])) {
            throw new CeremonyError('INTERNAL', 'the signatures do not match the placeholder reserved for them');
          }
          const blob = encodeSignatures(signatures);
          if (blob.length !== blobSize) throw new CeremonyError('INTERNAL', 'the signature block does not fill its placeholder');
          if (opts.signal?.aborted) throw new CeremonyError('CANCELLED', 'signing was cancelled; no output was written');
          await file.writeTail(blob, end);
          await outputHash.updateCopy(blob);
          const outputSha256 = await outputHash.digest('sha256');
          await file.finish(end + blob.length);
          dst = undefined;
          if (opts.overwrite) {
            await rename(tmp, output); // --force: the person asked to replace the output
            fsyncDir(dirname(output));
          } else {
            moveIntoPlaceExclusive(tmp, output);
          }
          state = 'committed';
          await outputHash.terminate();
          outputHasher = undefined;
          return { output, outputSha256, size: end + blob.length };
        } catch (e) {
          state = 'discarded';
          await removeTemp();
          if (isCeremonyError(e)) throw e;
          throw new CeremonyError('OUTPUT_FAILED', `could not write ${output}`, { cause: e });
        }
      },
      async discard() {
        if (state === 'open') {
          state = 'discarded';
          await removeTemp();
        }
      },
    };
    return draft;
  } catch (e) {
    await inputHasher?.terminate();
    await removeTemp();
    if (isCeremonyError(e)) throw e;
    throw new CeremonyError('OUTPUT_FAILED', `could not write the signed payload ${output}`, { cause: e });
  } finally {
    await src.close();
  }
}
