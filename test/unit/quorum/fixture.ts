import { newQuorumSecret } from '../../../ceremony/quorum/secret.js';
import { splitQuorumSecret, type QuorumSplit } from '../../../ceremony/quorum/split.js';
import type { Share } from '../../../ceremony/quorum/share.js';

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
