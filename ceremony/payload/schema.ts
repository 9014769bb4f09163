/**
 * The protobuf schema of a Flatcar update payload, as declared by flatcar/update_engine
 * `src/update_engine/update_metadata.proto` (package chromeos_update_engine, proto2). Every field of that
 * file is declared here with its number and type, because a signed payload is byte-identical to
 * `delta_generator`'s only if re-encoding the manifest reproduces the bytes it was decoded from: an
 * undeclared field would be dropped by protobufjs and change the hash. protobufjs writes fields in
 * field-number order, as the C++ `SerializeToString` does, and keeps proto2 presence (a field that was on
 * the wire is written again even when it holds its default value, e.g. `data_offset: 0`).
 */
import protobuf from 'protobufjs';

// Field numbers, types and labels must match update_metadata.proto exactly; names follow it so that
// decoded objects read like the C++ accessors.
const SCHEMA = `
syntax = "proto2";
package chromeos_update_engine;

message InstallOperation {
  enum Type { REPLACE = 0; REPLACE_BZ = 1; MOVE = 2; BSDIFF = 3; }
  required Type type = 1;
  optional uint32 data_offset = 2;
  optional uint32 data_length = 3;
  repeated Extent src_extents = 4;
  optional uint64 src_length = 5;
  repeated Extent dst_extents = 6;
  optional uint64 dst_length = 7;
  optional bytes data_sha256_hash = 8;
}

message Extent {
  optional uint64 start_block = 1;
  optional uint64 num_blocks = 2;
}

message Signatures {
  message Signature {
    optional uint32 version = 1;
    optional bytes data = 2;
  }
  repeated Signature signatures = 1;
}

message InstallInfo {
  optional uint64 size = 1;
  optional bytes hash = 2;
}

message InstallProcedure {
  enum Type { KERNEL = 0; PCR_POLICY = 1; }
  optional Type type = 1;
  repeated InstallOperation operations = 2;
  optional InstallInfo old_info = 3;
  optional InstallInfo new_info = 4;
}

message DeltaArchiveManifest {
  repeated InstallOperation partition_operations = 1;
  repeated InstallOperation noop_operations = 2;
  optional uint32 block_size = 3 [default = 4096];
  optional uint64 signatures_offset = 4;
  optional uint64 signatures_size = 5;
  optional InstallInfo old_partition_info = 8;
  optional InstallInfo new_partition_info = 9;
  repeated InstallProcedure procedures = 10;
}
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;

export const ManifestType = root.lookupType('chromeos_update_engine.DeltaArchiveManifest');
export const SignaturesType = root.lookupType('chromeos_update_engine.Signatures');

/** protobufjs represents uint64 as a long.js Long (exact up to 2^64-1) when `long` is installed, which it is. */
export type Uint64 = number | protobuf.Long;

export interface Extent {
  start_block?: Uint64;
  num_blocks?: Uint64;
}

/** InstallOperation.Type: REPLACE = 0, REPLACE_BZ = 1, MOVE = 2, BSDIFF = 3. */
export const OP_REPLACE = 0;

export interface InstallOperation {
  type: number;
  data_offset?: number;
  data_length?: number;
  src_extents?: Extent[];
  src_length?: Uint64;
  dst_extents?: Extent[];
  dst_length?: Uint64;
  data_sha256_hash?: Uint8Array;
}

export interface InstallInfo {
  size?: Uint64;
  hash?: Uint8Array;
}

export interface InstallProcedure {
  type?: number;
  operations?: InstallOperation[];
  old_info?: InstallInfo;
  new_info?: InstallInfo;
}

/** A decoded DeltaArchiveManifest. Only fields present on the wire are own properties (proto2 presence). */
export interface DeltaArchiveManifest {
  partition_operations?: InstallOperation[];
  noop_operations?: InstallOperation[];
  block_size?: number;
  signatures_offset?: Uint64;
  signatures_size?: Uint64;
  old_partition_info?: InstallInfo;
  new_partition_info?: InstallInfo;
  procedures?: InstallProcedure[];
}

export interface SignatureEntry {
  version?: number;
  data?: Uint8Array;
}

/** Whether a proto2 optional field was present on the wire (not merely defaulted by the prototype). */
export function has(message: object, field: string): boolean {
  return Object.prototype.hasOwnProperty.call(message, field);
}

/** A uint64 as a JS number, or undefined if it does not fit exactly (callers treat that as malformed). */
export function toSafeNumber(v: Uint64 | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  const big = BigInt.asUintN(64, (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0));
  return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : undefined;
}

/** The statics of long.js that protobufjs exposes as `util.Long` (its typings only say "a constructor"). */
interface LongStatics {
  fromBits(low: number, high: number, unsigned: boolean): protobuf.Long;
  fromNumber(value: number, unsigned: boolean): protobuf.Long;
}
const Long = protobuf.util.Long as unknown as LongStatics;

/** UINT64_MAX, the "sparse hole" start block of the signature no-op operation (delta_diff_generator.cc kSparseHole). */
export const SPARSE_HOLE: protobuf.Long = Long.fromBits(0xffffffff, 0xffffffff, true);

export function uint64(n: number): protobuf.Long {
  return Long.fromNumber(n, true);
}
