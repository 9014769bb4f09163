import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { QuorumSession } from '../../../ceremony/quorum/session.js';
import { splitQuorumSecret } from '../../../ceremony/quorum/split.js';
import { newQuorumSecret } from '../../../ceremony/quorum/secret.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { copy } from './fixture.js';

describe('quorum session invariant', () => {
  test('wrong-secret attack: whatever genuine and forged shares are presented, the session gives the true secret or refuses', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 6 }).chain((n) =>
          fc.record({
            n: fc.constant(n),
            k: fc.integer({ min: 1, max: n }),
            order: fc.shuffledSubarray(Array.from({ length: n }, (_, i) => i), { minLength: 1 }),
            forged: fc.array(fc.record({ at: fc.nat(), byte: fc.nat({ max: 32 }), flip: fc.integer({ min: 1, max: 255 }) }), { maxLength: 3 }),
          }),
        ),
        async ({ n, k, order, forged }) => {
          const secret = newQuorumSecret();
          const custodians = Array.from({ length: n }, (_, i) => `c${i}`);
          const { descriptor, shares } = await splitQuorumSecret(secret, { threshold: k, custodians });
          const presented = order.map((i) => copy(shares[i]!));
          for (const f of forged) presented[f.at % presented.length]!.data[f.byte]! ^= f.flip;
          const session = new QuorumSession(descriptor);
          for (const s of presented) {
            try {
              session.add(s, s.custodian);
            } catch (e) {
              if (!isCeremonyError(e)) throw e;
            }
          }
          try {
            const r = await session.recover();
            expect(r.secret.equals(secret)).toBe(true);
          } catch (e) {
            expect(isCeremonyError(e) && ['QUORUM_NOT_MET', 'QUORUM_MISMATCH'].includes(e.code)).toBe(true);
          } finally {
            session.wipe();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
