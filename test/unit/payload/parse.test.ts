import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VECTORS } from '../../helpers/cli.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { parsePayloadBytes, readPayloadMetadata, PAYLOAD_LIMITS } from '../../../ceremony/payload/index.js';
import { ManifestType, SPARSE_HOLE, toSafeNumber, type DeltaArchiveManifest } from '../../../ceremony/payload/schema.js';

const UNSIGNED = readFileSync(join(VECTORS, 'crau/update.unsigned'));
const SIGNED = readFileSync(join(VECTORS, 'crau/update.signed'));

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    if (!isCeremonyError(e)) throw e;
    expect(e.code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

function header(version: bigint, manifestLength: bigint): Buffer {
  const h = Buffer.alloc(20);
  h.write('CrAU', 0, 'ascii');
  h.writeBigUInt64BE(version, 4);
  h.writeBigUInt64BE(manifestLength, 12);
  return h;
}

describe('CrAU parsing of the Flatcar test vectors', () => {
  it('reads the unsigned payload: header, manifest, blob area, no signatures', () => {
    const m = parsePayloadBytes(UNSIGNED);
    expect(m.metadataSize).toBe(20 + UNSIGNED.readUInt32BE(16));
    expect(m.dataSize).toBe(13423);
    expect(m.signatures).toBeUndefined();
    expect(m.manifest.partition_operations).toHaveLength(2);
    expect(m.manifest.block_size).toBe(4096);
  });

  it('reads the signed payload: signatures_offset 13423, signatures_size 264, ending the file', () => {
    const m = parsePayloadBytes(SIGNED);
    expect(m.signatures).toEqual({ offset: 13423, size: 264 });
    expect(m.metadataSize + 13423 + 264).toBe(SIGNED.length);
    // The placeholder no-op: REPLACE into a sparse hole (UINT64_MAX), one 4096-byte block for 264 bytes.
    const noop = (m.manifest as DeltaArchiveManifest).noop_operations!.at(-1)!;
    expect(noop.type).toBe(0);
    expect(noop.data_offset).toBe(13423);
    expect(noop.data_length).toBe(264);
    expect(String(noop.dst_extents![0]!.start_block)).toBe(SPARSE_HOLE.toString());
    expect(toSafeNumber(noop.dst_extents![0]!.num_blocks)).toBe(1);
  });

  it('re-encodes both manifests to exactly the bytes delta_generator wrote (field-number order, proto2 presence)', () => {
    for (const file of [UNSIGNED, SIGNED]) {
      const m = parsePayloadBytes(file);
      expect(Buffer.from(ManifestType.encode(ManifestType.decode(m.manifestBytes)).finish()).equals(m.manifestBytes)).toBe(true);
    }
  });

  it('writes fields in field-number order whatever order they were set in, as C++ SerializeToString does', () => {
    const m = {
      procedures: [{ type: 0, operations: [{ type: 0, data_offset: 0, data_length: 1 }] }],
      new_partition_info: { hash: Buffer.alloc(32), size: 4096 },
      old_partition_info: { size: 1 },
      signatures_size: 264,
      signatures_offset: 1,
      block_size: 4096,
      noop_operations: [{ data_sha256_hash: Buffer.alloc(1), dst_length: 1, dst_extents: [{ num_blocks: 1, start_block: 2 }], src_length: 1, data_length: 1, data_offset: 0, type: 1 }],
      partition_operations: [{ type: 0 }],
    };
    const bytes = Buffer.from(ManifestType.encode(m).finish());
    // Walk the top-level wire format: each key is (field << 3 | wire type); all our fields are < 16, so one byte.
    const fields: number[] = [];
    for (let i = 0; i < bytes.length; ) {
      const key = bytes[i++]!;
      fields.push(key >> 3);
      if ((key & 7) === 0) while (bytes[i++]! & 0x80);
      else {
        let len = 0;
        for (let shift = 0; ; shift += 7) {
          const b = bytes[i++]!;
          len |= (b & 0x7f) << shift;
          if (!(b & 0x80)) break;
        }
        i += len;
      }
    }
    expect(fields).toEqual([1, 2, 3, 4, 5, 8, 9, 10]);
    const op = ManifestType.toObject(ManifestType.decode(bytes)).noop_operations[0];
    expect(Object.keys(op)).toEqual(expect.arrayContaining(['type', 'data_offset', 'data_length', 'dst_extents', 'src_length', 'dst_length', 'data_sha256_hash']));
  });

  it('reads the same metadata from disk as from memory', async () => {
    const m = await readPayloadMetadata(join(VECTORS, 'crau/update.signed'));
    expect(m.signatures).toEqual({ offset: 13423, size: 264 });
    expect(m.manifestBytes.equals(parsePayloadBytes(SIGNED).manifestBytes)).toBe(true);
  });
});

describe('malformed payloads are refused with PAYLOAD_MALFORMED, never read past the end', () => {
  it('refuses every truncation of the unsigned payload', () => {
    for (let n = 0; n < UNSIGNED.length; n++) expectCode(() => parsePayloadBytes(UNSIGNED.subarray(0, n)), 'PAYLOAD_MALFORMED');
  });

  it('refuses every truncation of the signed payload', () => {
    for (let n = 0; n < SIGNED.length; n++) expectCode(() => parsePayloadBytes(SIGNED.subarray(0, n)), 'PAYLOAD_MALFORMED');
  });

  it('refuses a signed payload with bytes appended after its signatures', () => {
    expectCode(() => parsePayloadBytes(Buffer.concat([SIGNED, Buffer.from([0])])), 'PAYLOAD_MALFORMED');
  });

  it('refuses a file that is not CrAU', () => {
    expectCode(() => parsePayloadBytes(Buffer.from('PK\x03\x04 this is a zip file, not a payload')), 'PAYLOAD_MALFORMED');
  });

  it('refuses an unknown format version', () => {
    const bad = Buffer.from(UNSIGNED);
    bad.writeBigUInt64BE(2n, 4);
    expectCode(() => parsePayloadBytes(bad), 'PAYLOAD_MALFORMED');
  });

  it('refuses a manifest length beyond the limit before reading it (memory exhaustion)', () => {
    const huge = Buffer.concat([header(1n, BigInt(PAYLOAD_LIMITS.maxManifestBytes + 1)), Buffer.alloc(64)]);
    expectCode(() => parsePayloadBytes(huge), 'PAYLOAD_MALFORMED');
    expectCode(() => parsePayloadBytes(Buffer.concat([header(1n, 2n ** 64n - 1n), Buffer.alloc(8)])), 'PAYLOAD_MALFORMED');
  });

  it('refuses a manifest that is not a protobuf', () => {
    const junk = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expectCode(() => parsePayloadBytes(Buffer.concat([header(1n, BigInt(junk.length)), junk])), 'PAYLOAD_MALFORMED');
  });

  it('refuses a manifest with a field we cannot re-encode faithfully (deprecated field 6)', () => {
    const m = parsePayloadBytes(UNSIGNED);
    const extra = Buffer.concat([m.manifestBytes, Buffer.from([0x30, 0x01])]);
    const file = Buffer.concat([header(1n, BigInt(extra.length)), extra, UNSIGNED.subarray(m.metadataSize)]);
    expectCode(() => parsePayloadBytes(file), 'PAYLOAD_MALFORMED');
  });

  it('refuses a manifest declaring only signatures_offset', () => {
    const m = parsePayloadBytes(UNSIGNED);
    const withOffset = Buffer.from(ManifestType.encode({ ...ManifestType.toObject(ManifestType.decode(m.manifestBytes)), signatures_offset: 13423 }).finish());
    const file = Buffer.concat([header(1n, BigInt(withOffset.length)), withOffset, UNSIGNED.subarray(m.metadataSize)]);
    expectCode(() => parsePayloadBytes(file), 'PAYLOAD_MALFORMED');
  });

  it('refuses a truncated file on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'payload-parse-'));
    try {
      const p = join(dir, 'cut');
      writeFileSync(p, UNSIGNED.subarray(0, 100));
      await expect(readPayloadMetadata(p)).rejects.toMatchObject({ code: 'PAYLOAD_MALFORMED' });
      await expect(readPayloadMetadata(join(dir, 'missing'))).rejects.toMatchObject({ code: 'INPUT_UNREADABLE' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
