import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { StagedOutputs, recombineStagedShares, stageShares } from '../../../ceremony/ceremonies/quorum-common.js';
import type { CeremonyConfig } from '../../../ceremony/config.js';
import { makeSet } from './fixture.js';

/** stageShares reads only the custodians' names and public keys from the config. */
function configFor(custodians: readonly string[]): CeremonyConfig {
  return { quorum: { custodians: custodians.map((name) => ({ name })) } } as unknown as CeremonyConfig;
}

describe('the init/renew check recombines the shares as they were written, not as they were in memory', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** Stage a 3-of-5 split; `damage` stands for a writer that changes a file's bytes on their way to the disk. */
  async function stage(damage?: (rel: string, data: string | Uint8Array) => string | Uint8Array) {
    const { secret, split } = await makeSet(3);
    const out = mkdtempSync(join(tmpdir(), 'staged-shares-'));
    dirs.push(out);
    const staged = damage
      ? new (class extends StagedOutputs {
          override write(rel: string, data: string | Uint8Array, mode?: number): void {
            super.write(rel, damage(rel, data), mode);
          }
        })(join(out, 'ceremony'))
      : new StagedOutputs(join(out, 'ceremony'));
    const descriptor = split.descriptor;
    const shares = await stageShares(staged, split, configFor(descriptor.custodians), { rootFingerprint: 'AB'.repeat(20) });
    return { secret, descriptor, shares };
  }

  test('every written form of a good split recombines: envelopes and words, each share in k windows', async () => {
    const { secret, descriptor, shares } = await stage();
    expect(shares.handed).toHaveLength(5);
    expect(shares.readBack.map((form) => form.map((w) => w.source))).toEqual([
      descriptor.custodians.map((c) => `shares/${c}.share`),
      descriptor.custodians.map((c) => `shares/${c}.share.words`),
    ]);
    await expect(recombineStagedShares(descriptor, secret, shares)).resolves.toBe(10);
  });

  test('a share file that differs from the share in memory (a writer bug, a bad disk) is caught before anyone leaves', async () => {
    const { secret, descriptor, shares } = await stage((rel, data) => (rel.endsWith('carol.share') ? String(data).replace('Share: 3 of 5', 'Share: 4 of 5') : data));
    await expect(recombineStagedShares(descriptor, secret, shares)).rejects.toMatchObject({ code: 'SELF_CHECK_FAILED', message: expect.stringContaining('carol') });
  });

  test('a words file that differs from the share in memory is caught too', async () => {
    const { secret, descriptor, shares } = await stage((rel, data) => {
      if (!rel.endsWith('alice.share.words')) return data;
      const words = String(data).split(/(\s+)/);
      const i = words.findIndex((w, j) => j > words.length / 2 && /^[a-z]+$/.test(w));
      words[i] = words[i] === 'abandon' ? 'ability' : 'abandon';
      return words.join('');
    });
    await expect(recombineStagedShares(descriptor, secret, shares)).rejects.toMatchObject({ code: 'SELF_CHECK_FAILED' });
  });
});
