/**
 * The payload parser is the edge for untrusted input: whatever bytes arrive, it returns typed metadata
 * or throws a CeremonyError, and never crashes, hangs or reads past the buffer.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VECTORS } from '../../helpers/cli.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { decodeSignatures, parsePayloadBytes } from '../../../ceremony/payload/index.js';

const SIGNED = readFileSync(join(VECTORS, 'crau/update.signed'));
const UNSIGNED = readFileSync(join(VECTORS, 'crau/update.unsigned'));

function parsesOrRefusesCleanly(bytes: Buffer): 'parsed' | 'refused' {
  try {
    const m = parsePayloadBytes(bytes);
    // Whatever was accepted is consistent with the buffer it came from.
    expect(m.metadataSize).toBeLessThanOrEqual(bytes.length);
    if (m.signatures) expect(m.metadataSize + m.signatures.offset + m.signatures.size).toBe(bytes.length);
    return 'parsed';
  } catch (e) {
    if (!isCeremonyError(e)) throw e;
    expect(['PAYLOAD_MALFORMED']).toContain(e.code);
    return 'refused';
  }
}

/** A valid payload with a few bytes overwritten, inserted or removed. */
const mutated = (base: Buffer) =>
  fc
    .array(
      fc.oneof(
        fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
        fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), data: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
      ),
      { minLength: 1, maxLength: 6 },
    )
    .map((edits) => {
      let b = Buffer.from(base);
      for (const e of edits) {
        const at = e.at % (b.length + 1);
        if (e.kind === 'set' && at < b.length) b[at] = e.value;
        if (e.kind === 'cut') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.len)]);
        if (e.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(e.data), b.subarray(at)]);
      }
      return b;
    });

describe('the payload parser never crashes on hostile input', () => {
  it('arbitrary bytes are refused with PAYLOAD_MALFORMED', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), (a) => parsesOrRefusesCleanly(Buffer.from(a)) === 'refused'), { numRuns: 500 });
  });

  it('arbitrary bytes behind a valid header are refused or parsed, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.nat({ max: 4096 }), (body, len) => {
        const h = Buffer.alloc(20);
        h.write('CrAU', 0, 'ascii');
        h.writeBigUInt64BE(1n, 4);
        h.writeBigUInt64BE(BigInt(len), 12);
        parsesOrRefusesCleanly(Buffer.concat([h, Buffer.from(body)]));
      }),
      { numRuns: 1000 },
    );
  });

  it('mutated signed and unsigned payloads are refused or parsed, never a crash', () => {
    fc.assert(fc.property(mutated(SIGNED), (b) => void parsesOrRefusesCleanly(b)), { numRuns: 1000 });
    fc.assert(fc.property(mutated(UNSIGNED), (b) => void parsesOrRefusesCleanly(b)), { numRuns: 1000 });
  });

  it('arbitrary signature blocks decode or are refused with PAYLOAD_MALFORMED', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), (a) => {
        try {
          decodeSignatures(a, 'fuzz');
        } catch (e) {
          if (!isCeremonyError(e, 'PAYLOAD_MALFORMED')) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
