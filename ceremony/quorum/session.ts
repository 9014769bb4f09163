/**
 * A quorum session (DESIGN §3 Renew): custodians present shares one at a time; each is checked and named
 * on arrival (format, checksum, set, duplicates, custodian), progress is x/k, and with k shares the secret
 * is combined and compared with the set's commitment before anyone may use it. A combination that does
 * not match (a forged share with a recomputed checksum, shares from look-alike sets) is wiped and refused;
 * with more than k shares the session searches the k-subsets for one that matches and names the shares
 * that do not fit.
 */
import { constantTimeEqual, wipe } from '../crypto.js';
import { CeremonyError } from '../errors.js';
import type { QuorumSetDescriptor } from './descriptor.js';
import { formatSetId, quorumCommitment } from './secret.js';
import { parseShare, type Share } from './share.js';
import { combineShareData } from './split.js';

/** What a session checks shares against. A QuorumSetDescriptor is one; `custodians` may be unknown (shares check without the token). */
export interface ExpectedSet {
  setId: string;
  commitment: string;
  threshold: number;
  /** Custodian names in share order, when known (from the token's descriptor). */
  custodians?: readonly string[];
  /** n, when the custodians are not known. */
  total?: number;
}

export interface ShareReceipt {
  custodian: string;
  index: number;
  /** Shares accepted so far, and how many are needed. */
  have: number;
  need: number;
  complete: boolean;
}

export interface PresentedShare {
  custodian: string;
  index: number;
  source: string;
}

export interface RecoveredQuorum {
  /** The checked quorum secret (matches the commitment). The caller wipes it (or calls session.wipe()). */
  secret: Buffer;
  setId: string;
  /** The shares whose combination gave the secret. */
  used: PresentedShare[];
  /** Shares that were accepted but do not lie on the set's polynomial: forged or altered. */
  misfits: PresentedShare[];
}

/** How many k-subsets we try to find a matching combination among more than k shares. */
const MAX_SUBSETS = 5000;

export class QuorumSession {
  readonly expected: Readonly<ExpectedSet>;
  private readonly accepted: { share: Share; source: string }[] = [];
  private recovered: Buffer | undefined;

  constructor(expected: ExpectedSet | QuorumSetDescriptor) {
    if (!/^[0-9a-f]{16}$/.test(expected.setId) || !/^[0-9a-f]{64}$/.test(expected.commitment)) {
      throw new RangeError('the expected set needs a 16-hex set ID and a 64-hex commitment');
    }
    this.expected = { ...expected };
  }

  get threshold(): number {
    return this.expected.threshold;
  }

  get have(): number {
    return this.accepted.length;
  }

  get complete(): boolean {
    return this.accepted.length >= this.expected.threshold;
  }

  /** The shares accepted so far (names and positions only). */
  get presented(): PresentedShare[] {
    return this.accepted.map(({ share, source }) => ({ custodian: share.custodian, index: share.index, source }));
  }

  /**
   * Check one share (envelope text, bytes, or an already parsed Share, which the session then owns and
   * wipes) and accept it, or throw SHARE_MALFORMED / SHARE_INVALID / SHARE_FOREIGN / SHARE_DUPLICATE naming
   * the custodian and `source`. A refused share changes nothing in the session.
   */
  add(input: string | Uint8Array | Share, source: string): ShareReceipt {
    const share = typeof input === 'string' || input instanceof Uint8Array ? parseShare(input, source) : input;
    try {
      this.check(share, source);
    } catch (e) {
      wipe(share.data);
      throw e;
    }
    this.accepted.push({ share, source });
    return { custodian: share.custodian, index: share.index, have: this.have, need: this.threshold, complete: this.complete };
  }

  private check(share: Share, source: string): void {
    const x = this.expected;
    const who = `the share of ${share.custodian} (${source})`;
    const details = { source, custodian: share.custodian, index: share.index, setId: share.setId };
    if (share.setId !== x.setId) {
      throw new CeremonyError(
        'SHARE_FOREIGN',
        `${who} belongs to quorum set ${formatSetId(share.setId)}, not to the set in force ${formatSetId(x.setId)}: it is from another split, perhaps from before a renewal`,
        { details },
      );
    }
    const total = x.custodians?.length ?? x.total;
    if (share.commitment !== x.commitment || share.threshold !== x.threshold || (total !== undefined && share.total !== total)) {
      throw new CeremonyError('SHARE_INVALID', `${who} names set ${formatSetId(x.setId)} but its commitment, threshold or number of shares differ from that set's: it is not genuine`, { details });
    }
    const owner = x.custodians?.[share.index - 1];
    if (x.custodians && owner?.toLowerCase() !== share.custodian.toLowerCase()) {
      throw new CeremonyError('SHARE_INVALID', `${who} says it is share ${share.index}, but share ${share.index} of this set belongs to ${owner ?? 'nobody'}: it is not genuine`, { details });
    }
    for (const { share: had, source: hadSource } of this.accepted) {
      if (had.index === share.index || had.custodian.toLowerCase() === share.custodian.toLowerCase()) {
        throw new CeremonyError(
          'SHARE_DUPLICATE',
          `${who} is share ${share.index} of ${share.custodian}, which was already presented (${hadSource}): each custodian counts once`,
          { details },
        );
      }
      if (had.data[had.data.length - 1] === share.data[share.data.length - 1]) {
        throw new CeremonyError('SHARE_INVALID', `${who} has the same Shamir coordinate as the share of ${had.custodian}: one of them is not genuine`, { details });
      }
    }
  }

  /**
   * Combine and check. Throws QUORUM_NOT_MET (without combining anything) below k shares, QUORUM_MISMATCH
   * when no k of the accepted shares combine to the committed secret. The returned secret is the session's
   * until wipe() or the caller wipes it.
   */
  async recover(): Promise<RecoveredQuorum> {
    const k = this.threshold;
    if (this.accepted.length < k) {
      throw new CeremonyError('QUORUM_NOT_MET', `${this.accepted.length} of ${k} shares are present: the quorum needs ${k} shares from different custodians`, {
        details: { have: this.accepted.length, need: k },
      });
    }
    const all = this.accepted;
    let tried = 0;
    for (const subset of kSubsets(all.length, k)) {
      if (++tried > MAX_SUBSETS) break;
      const candidate = await combineShareData(subset.map((i) => all[i]!.share));
      if (!this.matches(candidate)) {
        wipe(candidate);
        continue;
      }
      const used = subset.map((i) => this.presentedAt(i));
      const misfits: PresentedShare[] = [];
      for (let j = 0; j < all.length; j++) {
        if (subset.includes(j)) continue;
        // A genuine share can stand in for any member of a good subset and still give the secret.
        const swapped = [...subset.slice(1), j].map((i) => all[i]!.share);
        const check = await combineShareData(swapped);
        if (!constantTimeEqual(check, candidate)) misfits.push(this.presentedAt(j));
        wipe(check);
      }
      wipe(this.recovered);
      this.recovered = candidate;
      return { secret: candidate, setId: this.expected.setId, used, misfits };
    }
    const names = all.map((a) => a.share.custodian).join(', ');
    throw new CeremonyError(
      'QUORUM_MISMATCH',
      all.length === k
        ? `the shares of ${names} do not combine to the secret committed for set ${formatSetId(this.expected.setId)}: at least one of them is forged or altered; a further custodian's share would show which`
        : `no ${k} of the shares of ${names} combine to the secret committed for set ${formatSetId(this.expected.setId)}: too many of them are forged or altered`,
      { details: { custodians: all.map((a) => a.share.custodian), setId: this.expected.setId } },
    );
  }

  private matches(candidate: Buffer): boolean {
    return constantTimeEqual(Buffer.from(quorumCommitment(this.expected.setId, candidate), 'hex'), Buffer.from(this.expected.commitment, 'hex'));
  }

  private presentedAt(i: number): PresentedShare {
    const { share, source } = this.accepted[i]!;
    return { custodian: share.custodian, index: share.index, source };
  }

  /** Wipe every share and any recovered secret; the session is empty afterwards. */
  wipe(): void {
    for (const { share } of this.accepted) wipe(share.data);
    this.accepted.length = 0;
    wipe(this.recovered);
    this.recovered = undefined;
  }
}

/** Every k-subset of 0..n-1 as index arrays, in lexicographic order (the first one is the first k shares). */
function* kSubsets(n: number, k: number): Generator<number[]> {
  const idx = Array.from({ length: k }, (_, i) => i);
  while (true) {
    yield [...idx];
    let i = k - 1;
    while (i >= 0 && idx[i] === n - k + i) i--;
    if (i < 0) return;
    idx[i]!++;
    for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1]! + 1;
  }
}
