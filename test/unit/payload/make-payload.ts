/**
 * Build unsigned CrAU payloads of any size for tests: the product's own writer
 * (ceremony/payload/demo-payload.ts) with a random pattern, streamed so a large one never sits in memory.
 */
import { randomBytes } from 'node:crypto';
import { writeUnsignedPayload, type WrittenPayload } from '../../../ceremony/payload/demo-payload.js';

export type MadePayload = WrittenPayload;

/**
 * Write an unsigned payload whose blob is `blobSize` bytes of a repeated random pattern of `patternBytes`
 * (1 MiB by default; a length that is not a multiple of the signing pass's stages makes every stage differ).
 */
export function makeUnsignedPayload(path: string, blobSize: number, patternBytes = 1 << 20): MadePayload {
  return writeUnsignedPayload(path, blobSize, randomBytes(patternBytes));
}
