/**
 * The Signatures message that ends a signed payload (update_metadata.proto `Signatures`), numbered as
 * flatcar/update_engine `payload_signer.cc` ConvertSignatureToProtobufBlob numbers them: the signatures
 * get consecutive versions so that the LAST one is kSignatureMessageCurrentVersion (2). update_engine
 * verifies the first signature whose version is 2 (VerifySignatureBlob), so with two keys the second key
 * is the one current clients check and the first (version 1) is there for older clients.
 */
import { CeremonyError } from '../errors.js';
import { SignaturesType, has, type SignatureEntry } from './schema.js';

export const CURRENT_SIGNATURE_VERSION = 2;
/** Versions are unsigned and end at 2, so at most three signatures (versions 0, 1, 2). */
export const MAX_SIGNATURES = CURRENT_SIGNATURE_VERSION + 1;

/** The versions delta_generator gives `count` signatures: [3 - count, ..., 2]. */
export function signatureVersions(count: number): number[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SIGNATURES) {
    throw new CeremonyError('USAGE', `a payload takes 1 to ${MAX_SIGNATURES} signatures (numbered so the last is version 2), not ${count}`);
  }
  return Array.from({ length: count }, (_, i) => CURRENT_SIGNATURE_VERSION + 1 - count + i);
}

export function encodeSignatures(signatures: readonly Uint8Array[]): Buffer {
  const versions = signatureVersions(signatures.length);
  const message = { signatures: signatures.map((data, i) => ({ version: versions[i], data })) };
  return Buffer.from(SignaturesType.encode(message).finish());
}

/**
 * The size of the Signatures message for signatures of these sizes. payload_signer.cc
 * HashPayloadForSigning serializes zero-filled signatures of the given sizes for this: the protobuf
 * length depends only on the sizes, so the placeholder and the final message have the same length.
 */
export function signaturesBlobSize(signatureSizes: readonly number[]): number {
  return encodeSignatures(signatureSizes.map((n) => new Uint8Array(n))).length;
}

export interface PayloadSignature {
  /** Position in the Signatures message (0-based). */
  index: number;
  /** Undefined when the signature carries no version field (update_engine never picks it). */
  version: number | undefined;
  data: Buffer;
}

export function decodeSignatures(blob: Uint8Array, what: string): PayloadSignature[] {
  let decoded: { signatures?: SignatureEntry[] };
  try {
    decoded = SignaturesType.decode(blob) as unknown as { signatures?: SignatureEntry[] };
  } catch (e) {
    throw new CeremonyError('PAYLOAD_MALFORMED', `${what} has a signature block that is not a valid Signatures protobuf`, { cause: e });
  }
  return (decoded.signatures ?? []).map((s, index) => ({
    index,
    version: has(s, 'version') ? s.version : undefined,
    data: Buffer.from(s.data ?? new Uint8Array()),
  }));
}
