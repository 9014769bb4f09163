import { beforeEach, describe, expect, test, vi } from 'vitest';
import * as shamir from 'shamir-secret-sharing';
import { QuorumSession } from '../../../ceremony/quorum/session.js';
import { formatShare, formatShareWords, parseShare, type Share } from '../../../ceremony/quorum/share.js';
import { splitQuorumSecret } from '../../../ceremony/quorum/split.js';
import { newQuorumSecret, quorumCommitment } from '../../../ceremony/quorum/secret.js';
import { descriptorFromJson, descriptorToJson } from '../../../ceremony/quorum/descriptor.js';
import { CeremonyError, isCeremonyError } from '../../../ceremony/errors.js';
import { FIVE, copy, makeSet, subsets } from './fixture.js';
import { expectNoSecretIn } from './leak.js';

// Spy on the library's combine to prove that nothing is combined below the threshold.
vi.mock('shamir-secret-sharing', async (importOriginal) => {
  const real = await importOriginal<typeof import('shamir-secret-sharing')>();
  return { ...real, combine: vi.fn(real.combine) };
});

const { secret, split } = await makeSet(3);
const { descriptor, shares } = split;
const allSecrets = () => [secret, ...shares.map((s) => s.data)];

/** Run `f`, expect a CeremonyError with `code`, and check it carries no secret bytes. */
async function refusedWith(code: string, f: () => unknown): Promise<CeremonyError> {
  try {
    await f();
  } catch (e) {
    if (!isCeremonyError(e)) throw e;
    expect(e.code).toBe(code);
    expectNoSecretIn(`${e.toLine()} ${JSON.stringify(e.toJSON())}`, allSecrets());
    return e;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

/** A forger who knows a share's format recomputes the checksum: format and re-parse. */
function forge(s: Share, change: (s: Share) => void): Share {
  const f = copy(s);
  change(f);
  return parseShare(formatShare(f), 'forged.share');
}

beforeEach(() => {
  vi.mocked(shamir.combine).mockClear();
});

describe('quorum session', () => {
  test('every 3-subset of 5 shares combines to the committed secret', async () => {
    const all = subsets(shares, 3);
    expect(all).toHaveLength(10);
    for (const subset of all) {
      const session = new QuorumSession(descriptor);
      const receipts = subset.map((s) => session.add(formatShare(s), `${s.custodian}.share`));
      expect(receipts.map((r) => `${r.have}/${r.need}`)).toEqual(['1/3', '2/3', '3/3']);
      expect(receipts[2]!.complete).toBe(true);
      const r = await session.recover();
      expect(r.secret.equals(secret)).toBe(true);
      expect(r.used.map((u) => u.custodian)).toEqual(subset.map((s) => s.custodian));
      expect(r.misfits).toEqual([]);
      session.wipe();
      expect(r.secret.every((b) => b === 0)).toBe(true);
    }
  });

  test('shares typed as words work like text shares', async () => {
    const session = new QuorumSession(descriptor);
    for (const s of shares.slice(2)) session.add(formatShareWords(s), s.custodian);
    expect((await session.recover()).secret.equals(secret)).toBe(true);
  });

  test('too-few-shares attack: every 2-subset is QUORUM_NOT_MET and nothing is combined', async () => {
    for (const subset of subsets(shares, 2)) {
      const session = new QuorumSession(descriptor);
      for (const s of subset) session.add(copy(s), s.custodian);
      expect(session.complete).toBe(false);
      const e = await refusedWith('QUORUM_NOT_MET', () => session.recover());
      expect(e.exitCode).toBe(1);
      expect(e.message).toMatch(/2 of 3/);
    }
    expect(shamir.combine).not.toHaveBeenCalled();
  });

  test('old-share attack: a share from a previous split is SHARE_FOREIGN, naming the custodian', async () => {
    const previous = await makeSet(3);
    const session = new QuorumSession(descriptor);
    session.add(copy(shares[0]!), 'alice.share');
    const e = await refusedWith('SHARE_FOREIGN', () => session.add(formatShare(previous.split.shares[1]!), 'old/bob.share'));
    expect(e.message).toMatch(/bob.*old\/bob\.share/);
    expect(session.have).toBe(1);
  });

  test('double-counting attack: the same share twice, or a second share of one custodian, is SHARE_DUPLICATE', async () => {
    const session = new QuorumSession(descriptor);
    session.add(formatShare(shares[0]!), 'alice.share');
    session.add(formatShare(shares[1]!), 'bob.share');
    const e = await refusedWith('SHARE_DUPLICATE', () => session.add(formatShare(shares[1]!), 'bob-again.share'));
    expect(e.message).toMatch(/bob/);
    await refusedWith('SHARE_DUPLICATE', () => session.add(formatShareWords(shares[0]!), 'alice as words'));
    expect(session.have).toBe(2);
    await refusedWith('QUORUM_NOT_MET', () => session.recover());
  });

  test('double-counting attack without a descriptor: another name on the same index is SHARE_DUPLICATE', async () => {
    const session = new QuorumSession({ setId: descriptor.setId, commitment: descriptor.commitment, threshold: 3, total: 5 });
    session.add(copy(shares[0]!), 'a');
    await refusedWith('SHARE_DUPLICATE', () => session.add(forge(shares[0]!, (s) => (s.custodian = 'mallory')), 'm'));
  });

  test('forged-share attack: a share altered with a recomputed checksum is caught by the commitment', async () => {
    const forged = forge(shares[2]!, (s) => (s.data[0] ^= 0x01));
    const session = new QuorumSession(descriptor);
    session.add(copy(shares[0]!), 'alice.share');
    session.add(copy(shares[1]!), 'bob.share');
    session.add(forged, 'carol.share');
    const e = await refusedWith('QUORUM_MISMATCH', () => session.recover());
    expect(e.message).toMatch(/alice, bob, carol/);
  });

  test('forged-share attack with a spare share: the matching subset is used and the forger is named', async () => {
    const forged = forge(shares[1]!, (s) => (s.data[5] ^= 0x80));
    const session = new QuorumSession(descriptor);
    session.add(copy(shares[0]!), 'alice.share');
    session.add(forged, 'bob.share');
    session.add(copy(shares[2]!), 'carol.share');
    session.add(copy(shares[3]!), 'dave.share');
    const r = await session.recover();
    expect(r.secret.equals(secret)).toBe(true);
    expect(r.misfits.map((m) => m.custodian)).toEqual(['bob']);
    expect(r.used.map((u) => u.custodian)).not.toContain('bob');
  });

  test('forged-set attack: shares of another secret claiming this set and its public commitment are refused', async () => {
    const attacker = await splitQuorumSecret(newQuorumSecret(), { threshold: 3, custodians: FIVE, setId: descriptor.setId });
    const session = new QuorumSession(descriptor);
    for (const s of attacker.shares.slice(0, 3)) session.add(forge(s, (f) => (f.commitment = descriptor.commitment)), s.custodian);
    await refusedWith('QUORUM_MISMATCH', () => session.recover());
  });

  test('forged-set attack: a look-alike set with its own commitment is refused share by share', async () => {
    const attacker = await splitQuorumSecret(newQuorumSecret(), { threshold: 3, custodians: FIVE, setId: descriptor.setId });
    const session = new QuorumSession(descriptor);
    const e = await refusedWith('SHARE_INVALID', () => session.add(formatShare(attacker.shares[0]!), 'alice.share'));
    expect(e.message).toMatch(/alice.*not genuine/);
  });

  test('mixed-sets attack: shares of two sets that both pass their checksums are not combined together', async () => {
    const other = await makeSet(3);
    const session = new QuorumSession(descriptor);
    session.add(copy(shares[0]!), 'alice.share');
    session.add(copy(shares[1]!), 'bob.share');
    await refusedWith('SHARE_FOREIGN', () => session.add(copy(other.split.shares[2]!), 'carol.share'));
    await refusedWith('QUORUM_NOT_MET', () => session.recover());
  });

  test('impersonation attack: a share that names another custodian than the set gives its index is SHARE_INVALID', async () => {
    const session = new QuorumSession(descriptor);
    const e = await refusedWith('SHARE_INVALID', () => session.add(forge(shares[1]!, (s) => (s.custodian = 'mallory')), 'm.share'));
    expect(e.message).toMatch(/share 2 of this set belongs to bob/);
  });

  test('coordinate-reuse attack: a copy of one share re-labelled as another custodian is refused', async () => {
    const session = new QuorumSession(descriptor);
    session.add(copy(shares[0]!), 'alice.share');
    const clone = forge(shares[0]!, (s) => {
      s.index = 2;
      s.custodian = 'bob';
    });
    await refusedWith('SHARE_INVALID', () => session.add(clone, 'bob.share'));
  });

  test('a threshold or share count that differs from the set is refused', async () => {
    const session = new QuorumSession(descriptor);
    await refusedWith('SHARE_INVALID', () => session.add(forge(shares[0]!, (s) => (s.threshold = 2)), 'a'));
    await refusedWith('SHARE_INVALID', () => session.add(forge(shares[0]!, (s) => (s.total = 4)), 'a'));
  });

  test('1-of-n and 1-of-1 sets work (every share is the secret)', async () => {
    for (const custodians of [['solo'], ['a', 'b', 'c']]) {
      const s1 = newQuorumSecret();
      const { descriptor: d, shares: sh } = await splitQuorumSecret(s1, { threshold: 1, custodians });
      for (const share of sh) {
        const session = new QuorumSession(d);
        session.add(formatShare(share), 'x');
        expect((await session.recover()).secret.equals(s1)).toBe(true);
      }
    }
  });

  test('2-of-2 and 5-of-5 sets recombine only with all shares', async () => {
    for (const k of [2, 5]) {
      const s = newQuorumSecret();
      const names = FIVE.slice(0, k);
      const { descriptor: d, shares: sh } = await splitQuorumSecret(s, { threshold: k, custodians: names });
      const session = new QuorumSession(d);
      for (const share of sh.slice(0, k - 1)) session.add(copy(share), share.custodian);
      await refusedWith('QUORUM_NOT_MET', () => session.recover());
      session.add(copy(sh[k - 1]!), 'last');
      expect((await session.recover()).secret.equals(s)).toBe(true);
    }
  });

  test('the split refuses impossible quorums', async () => {
    await refusedWith('USAGE', () => splitQuorumSecret(secret, { threshold: 4, custodians: ['a', 'b', 'c'] }));
    await refusedWith('USAGE', () => splitQuorumSecret(secret, { threshold: 0, custodians: ['a'] }));
    await refusedWith('USAGE', () => splitQuorumSecret(secret, { threshold: 1, custodians: ['a', 'A'] }));
    await refusedWith('USAGE', () => splitQuorumSecret(secret, { threshold: 1, custodians: ['../x'] }));
  });

  test('the commitment in the descriptor is that of the secret', () => {
    expect(descriptor.commitment).toBe(quorumCommitment(descriptor.setId, secret));
    expect(shares.every((s) => s.commitment === descriptor.commitment && s.setId === descriptor.setId)).toBe(true);
    expect(shares.map((s) => s.index)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('quorum set descriptor', () => {
  test('round-trips through canonical JSON', () => {
    const json = descriptorToJson(descriptor);
    expect(descriptorFromJson(json)).toEqual(descriptor);
    expect(descriptorFromJson(Buffer.from(json))).toEqual(descriptor);
    expect(json).not.toMatch(/\s/);
  });

  test.each([
    ['not JSON', '{'],
    ['a short commitment', descriptorToJson({ ...descriptor, commitment: 'ab' })],
    ['a threshold above n', descriptorToJson({ ...descriptor, threshold: 6 })],
    ['repeated custodians', descriptorToJson({ ...descriptor, custodians: ['a', 'b', 'c', 'A', 'e'] })],
    ['an extra field', JSON.stringify({ ...JSON.parse(descriptorToJson(descriptor)), extra: 1 })],
  ])('refuses %s', (_n, text) => {
    expect(() => descriptorFromJson(text)).toThrow(expect.objectContaining({ code: 'INPUT_MALFORMED' }));
  });
});
