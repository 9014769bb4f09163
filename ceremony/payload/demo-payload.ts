/**
 * An unsigned full-update payload for `ceremony demo` (and tests that need big ones): one REPLACE
 * operation covering the whole blob, like delta_generator's full update of a raw partition. The blob
 * is streamed from a repeated pattern, so a large payload never sits in memory. Built with the
 * product's own schema (schema.ts): a second writer, not a second parser.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { ManifestType, uint64 } from './schema.js';
import { crauHeader, HEADER_SIZE } from './format.js';

const BLOCK = 4096;

export interface WrittenPayload {
  path: string;
  size: number;
  blobSize: number;
}

/** Write an unsigned payload whose blob is `blobSize` bytes of `pattern` repeated. */
export function writeUnsignedPayload(path: string, blobSize: number, pattern: Buffer): WrittenPayload {
  const h = createHash('sha256');
  for (let done = 0; done < blobSize; done += pattern.length) h.update(pattern.subarray(0, Math.min(pattern.length, blobSize - done)));
  const blobSha256 = h.digest();
  const blocks = Math.ceil(blobSize / BLOCK);
  const manifest = Buffer.from(
    ManifestType.encode({
      partition_operations: [{ type: 0, data_offset: 0, data_length: blobSize, dst_extents: [{ start_block: uint64(0), num_blocks: uint64(blocks) }], data_sha256_hash: blobSha256 }],
      block_size: BLOCK,
      new_partition_info: { size: uint64(blocks * BLOCK), hash: blobSha256 },
    }).finish(),
  );
  const fd = openSync(path, 'wx');
  try {
    writeSync(fd, crauHeader(manifest.length));
    writeSync(fd, manifest);
    for (let done = 0; done < blobSize; done += pattern.length) writeSync(fd, pattern, 0, Math.min(pattern.length, blobSize - done));
  } finally {
    closeSync(fd);
  }
  return { path, size: HEADER_SIZE + manifest.length + blobSize, blobSize };
}

/** The demo's payload: 1 MiB of a deterministic pattern, so two demo runs sign the same bytes. */
export function writeDemoPayload(path: string): WrittenPayload {
  const pattern = Buffer.alloc(64 * 1024);
  for (let i = 0; i < pattern.length; i += 32) createHash('sha256').update(`demo usr partition ${i}`).digest().copy(pattern, i);
  return writeUnsignedPayload(path, 1024 * 1024, pattern);
}
