import { newQuorumSecret } from '../../../ceremony/quorum/secret.js';
import { splitQuorumSecret, type QuorumSplit } from '../../../ceremony/quorum/split.js';
import { parseShare, type Share } from '../../../ceremony/quorum/share.js';
import { isCeremonyError } from '../../../ceremony/errors.js';

export const FIVE = ['alice', 'bob', 'carol', 'dave', 'erin'];

export async function makeSet(threshold = 3, custodians = FIVE): Promise<{ secret: Buffer; split: QuorumSplit }> {
  const secret = newQuorumSecret();
  const split = await splitQuorumSecret(secret, { threshold, custodians });
  return { secret, split };
}

/** A copy of a share (sessions wipe what they are given). */
export function copy(s: Share, change: Partial<Share> = {}): Share {
  return { ...s, data: Buffer.from(s.data), ...change };
}

export function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [first!, ...s]), ...subsets(rest, k)];
}

/** What parseShare says about `input` read as bob.share: its code and sentence, or code 'parsed' when it is read. */
export function refusal(input: string | Uint8Array): { code: string; message: string } {
  try {
    parseShare(input, 'bob.share');
  } catch (e) {
    if (!isCeremonyError(e)) throw e;
    return { code: e.code, message: e.message };
  }
  return { code: 'parsed', message: '' };
}
