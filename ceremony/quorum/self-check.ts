/**
 * The init and renew ceremonies' last quorum step (DESIGN §3): recombine every new share, as written, before
 * finishing, so that each share takes part in at least one successful k-subset. The shares are read back
 * from their envelopes (the bytes that were written or will be handed out), not from memory, so a
 * formatting bug cannot hand out shares that never recombine.
 */
import { constantTimeEqual } from '../crypto.js';
import { CeremonyError, isCeremonyError } from '../errors.js';
import type { QuorumSetDescriptor } from './descriptor.js';
import { QuorumSession } from './session.js';

export interface WrittenShare {
  /** Where the share went (its file), for messages. */
  source: string;
  /** The plain share envelope (text or words), not the encrypted form. */
  text: string | Uint8Array;
}

/**
 * Recombine n windows of k consecutive shares (i, i+1, ..., i+k-1 mod n): every share is in k of them.
 * Each must give `secret` and match the descriptor's commitment; otherwise SELF_CHECK_FAILED naming the
 * window's custodians. `shares` must be one per custodian, in the descriptor's order.
 */
export async function recombineEveryShare(descriptor: QuorumSetDescriptor, secret: Uint8Array, shares: readonly WrittenShare[]): Promise<void> {
  const n = descriptor.custodians.length;
  const k = descriptor.threshold;
  if (shares.length !== n) throw new CeremonyError('SELF_CHECK_FAILED', `${shares.length} shares were written for ${n} custodians`);
  for (let start = 0; start < n; start++) {
    const window = Array.from({ length: k }, (_, j) => shares[(start + j) % n]!);
    const names = window.map((_, j) => descriptor.custodians[(start + j) % n]).join(', ');
    const session = new QuorumSession(descriptor);
    try {
      for (const w of window) session.add(w.text, w.source);
      const r = await session.recover();
      if (!constantTimeEqual(r.secret, secret)) throw new CeremonyError('SELF_CHECK_FAILED', `the new shares of ${names} recombine to a different secret`);
    } catch (e) {
      if (isCeremonyError(e, 'SELF_CHECK_FAILED')) throw e;
      const why = isCeremonyError(e) ? e.message : 'an unexpected failure';
      throw new CeremonyError('SELF_CHECK_FAILED', `the new shares of ${names} do not recombine: ${why}`, { cause: e });
    } finally {
      session.wipe();
    }
  }
}
