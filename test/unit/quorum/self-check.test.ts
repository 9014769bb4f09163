import { describe, expect, test } from 'vitest';
import { recombineEveryShare } from '../../../ceremony/quorum/self-check.js';
import { formatShare, formatShareWords } from '../../../ceremony/quorum/share.js';
import { newQuorumSecret } from '../../../ceremony/quorum/secret.js';
import { FIVE, makeSet } from './fixture.js';
import { expectNoSecretIn } from './leak.js';

describe('recombining every new share before a ceremony finishes', () => {
  test('a good 3-of-5 split passes, as text or words', async () => {
    const { secret, split } = await makeSet(3);
    await recombineEveryShare(split.descriptor, secret, split.shares.map((s) => ({ source: s.custodian, text: formatShare(s) })));
    await recombineEveryShare(split.descriptor, secret, split.shares.map((s) => ({ source: s.custodian, text: formatShareWords(s) })));
  });

  test('handing-out-a-broken-share failure: one bad written share stops the ceremony, naming it', async () => {
    const { secret, split } = await makeSet(3);
    const written = split.shares.map((s) => ({ source: `${s.custodian}.share`, text: formatShare(s) }));
    written[4] = { source: 'erin.share', text: written[4]!.text.replace('Share: 5 of 5', 'Share: 4 of 5') };
    const e = await recombineEveryShare(split.descriptor, secret, written).then(
      () => undefined,
      (err: unknown) => err as { code: string; message: string },
    );
    expect(e?.code).toBe('SELF_CHECK_FAILED');
    expect(e?.message).toMatch(/erin/);
    expectNoSecretIn(e!.message, [secret, ...split.shares.map((s) => s.data)]);
  });

  test('shares of another secret, or a missing share, fail the check', async () => {
    const { secret, split } = await makeSet(2, FIVE.slice(0, 3));
    const texts = split.shares.map((s) => ({ source: s.custodian, text: formatShare(s) }));
    await expect(recombineEveryShare(split.descriptor, newQuorumSecret(), texts)).rejects.toMatchObject({ code: 'SELF_CHECK_FAILED' });
    await expect(recombineEveryShare(split.descriptor, secret, texts.slice(1))).rejects.toMatchObject({ code: 'SELF_CHECK_FAILED' });
  });
});
