/**
 * Shares offered to a quorum ceremony one by one, as `renew` takes them (issue 5): each checked against
 * the set on arrival and named in the record; a refused share changes nothing; on a terminal, more are
 * asked for until k are accepted. Then the k shares are combined and checked against the set's commitment.
 */
import { asCeremonyError, type CeremonyError } from '../errors.js';
import { wipe } from '../crypto.js';
import { isEncryptedShare, type QuorumSession, type QuorumSetDescriptor, type RecoveredQuorum } from '../quorum/index.js';
import type { CeremonyRun } from './runner.js';
import { formatQuorumId } from '../read-aloud.js';

/** One share as given: a file's bytes (`--share`) or what a custodian typed at a prompt. */
export interface ShareSource {
  /** How the share is named in messages and the record: a file name or "prompt 2". */
  source: string;
  text: Buffer;
}

export interface ShareInputs {
  shares: ShareSource[];
  promptShare?: (have: number, need: number) => Promise<ShareSource | undefined>;
}

export interface CollectHooks {
  progress?: (have: number, need: number) => void;
  /** Called after a refused share is recorded (renew warns there when the set in force is unsigned). */
  refused?: (err: CeremonyError) => void;
  /** The quorum session this collection belongs to, recorded with the quorum it reached (renew). */
  sessionId?: string;
}

/**
 * Offer every share to `session`, then recover the secret (the caller wipes `secret`). The one share loop
 * of every quorum ceremony: renew, backup and restore.
 */
export async function collectQuorum(run: CeremonyRun, session: QuorumSession, set: QuorumSetDescriptor, input: ShareInputs, hooks: CollectHooks = {}): Promise<RecoveredQuorum> {
  const offer = (s: ShareSource) => {
    if (isEncryptedShare(s.text)) {
      run.note('share-refused', { result: 'refused', detail: `${s.source} is an encrypted share: its custodian decrypts it first (gpg -d)`, code: 'SHARE_MALFORMED' });
      return;
    }
    try {
      const receipt = session.add(s.text, s.source);
      run.note('share-accepted', {
        detail: `share ${receipt.index} of ${receipt.custodian} accepted (${receipt.have}/${receipt.need})`,
        actor: { role: 'custodian', name: receipt.custodian },
        share: { index: receipt.index, setId: set.setId },
      });
      hooks.progress?.(receipt.have, receipt.need);
    } catch (e) {
      const err = asCeremonyError(e);
      if (err.exitCode === 3 || err.code === 'INTERNAL') throw err;
      run.note('share-refused', { result: 'refused', detail: err.message.slice(0, 500), code: err.code });
      hooks.refused?.(err);
    } finally {
      wipe(s.text);
    }
  };
  for (const s of input.shares) offer(s);
  while (!session.complete && input.promptShare) {
    const next = await input.promptShare(session.have, session.threshold);
    if (!next) break;
    offer(next);
  }
  return run.step('quorum-reached', `combining ${session.threshold} shares and checking them against set ${formatQuorumId(set.setId)}`, () => session.recover(), (r) => ({
    detail: `the shares of ${r.used.map((u) => u.custodian).join(', ')} recover the secret committed for set ${formatQuorumId(set.setId)}${r.misfits.length ? `; shares that do not fit: ${r.misfits.map((m) => m.custodian).join(', ')}` : ''}`,
    quorum: { ...(hooks.sessionId ? { sessionId: hooks.sessionId } : {}), threshold: set.threshold, custodians: r.used.map((u) => u.custodian) },
  }));
}
