/**
 * Build unsigned CrAU payloads of any size for tests: the product's own writer
 * (ceremony/payload/demo-payload.ts) with a random pattern, streamed so a large one never sits in memory.
 */
import { randomBytes } from 'node:crypto';
import { writeUnsignedPayload, type WrittenPayload } from '../../../ceremony/payload/demo-payload.js';

export type MadePayload = WrittenPayload;

/** Write an unsigned payload whose blob is `blobSize` bytes of a repeated random pattern. */
export function makeUnsignedPayload(path: string, blobSize: number): MadePayload {
  return writeUnsignedPayload(path, blobSize, randomBytes(1 << 20));
}
