/**
 * Build unsigned CrAU payloads of any size for tests, streaming the blob so that a large one never sits
 * in memory: one REPLACE operation covering the whole blob, like a full update of a raw partition.
 * The manifest is built with the product's schema, so this is a second writer, not a second parser.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { ManifestType, uint64 } from '../../../ceremony/payload/schema.js';

export interface MadePayload {
  path: string;
  size: number;
  blobSize: number;
}

function manifestFor(blobSize: number, blobSha256?: Buffer): Buffer {
  const blocks = Math.ceil(blobSize / 4096);
  const m = {
    partition_operations: [
      { type: 0, data_offset: 0, data_length: blobSize, dst_extents: [{ start_block: uint64(0), num_blocks: uint64(blocks) }], ...(blobSha256 ? { data_sha256_hash: blobSha256 } : {}) },
    ],
    block_size: 4096,
    new_partition_info: { size: uint64(blocks * 4096), ...(blobSha256 ? { hash: blobSha256 } : {}) },
  };
  return Buffer.from(ManifestType.encode(m).finish());
}

function header(manifestLength: number): Buffer {
  const h = Buffer.alloc(20);
  h.write('CrAU', 0, 'ascii');
  h.writeBigUInt64BE(1n, 4);
  h.writeBigUInt64BE(BigInt(manifestLength), 12);
  return h;
}

/** Write an unsigned payload whose blob is `blobSize` bytes of a repeated random pattern. */
export function makeUnsignedPayload(path: string, blobSize: number): MadePayload {
  const pattern = randomBytes(1 << 20);
  // The blob hash is known before writing: hash the pattern sequence once (cheap next to the write).
  const h = createHash('sha256');
  for (let done = 0; done < blobSize; done += pattern.length) h.update(pattern.subarray(0, Math.min(pattern.length, blobSize - done)));
  const manifest = manifestFor(blobSize, h.digest());
  const fd = openSync(path, 'wx');
  try {
    writeSync(fd, header(manifest.length));
    writeSync(fd, manifest);
    for (let done = 0; done < blobSize; done += pattern.length) {
      const n = Math.min(pattern.length, blobSize - done);
      writeSync(fd, pattern, 0, n);
    }
  } finally {
    closeSync(fd);
  }
  return { path, size: 20 + manifest.length + blobSize, blobSize };
}
