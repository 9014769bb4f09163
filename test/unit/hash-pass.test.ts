/** One read, many hashes: the lanes and the serial pass agree with hashing the bytes directly. */
import { afterAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashFileOnce, planLanes } from '../../ceremony/hash-pass.js';
import { isCeremonyError } from '../../ceremony/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'hashpass-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hashFileOnce', () => {
  const data = randomBytes(10 * 1024 * 1024 + 333);
  const file = join(dir, 'data.bin');
  writeFileSync(file, data);
  const trailer = randomBytes(40);

  for (const parallel of [false, true]) {
    it(`gives every digest and the data‖trailer digest from one pass (${parallel ? 'worker lanes' : 'serial'})`, async () => {
      const seen: number[] = [];
      const r = await hashFileOnce(file, {
        algorithms: ['md5', 'sha1', 'sha256', 'sha512', 'blake2b512'],
        trailers: [{ algorithm: 'sha512', trailer }, { algorithm: 'sha256', trailer }],
        parallel,
        onProgress: (n) => seen.push(n),
      });
      expect(r.size).toBe(data.length);
      for (const a of ['md5', 'sha1', 'sha256', 'sha512', 'blake2b512']) expect(r.digests[a]!.toString('hex')).toBe(createHash(a).update(data).digest('hex'));
      expect(r.trailed[0]!.toString('hex')).toBe(createHash('sha512').update(data).update(trailer).digest('hex'));
      expect(r.trailed[1]!.toString('hex')).toBe(createHash('sha256').update(data).update(trailer).digest('hex'));
      expect(seen.at(-1)).toBe(data.length);
    });
  }

  it('reuses a ring slot only after every lane hashed it: a file three times the ring still hashes exactly', async () => {
    // The reads from the page cache outrun MD5's lane; without the wait a slot would be read into while hashed.
    const big = Buffer.concat([randomBytes(8 * 1024 * 1024 + 17), randomBytes(8 * 1024 * 1024)]);
    const pattern = Buffer.concat([big, big.subarray(0, 3 * 1024 * 1024 + 5)]);
    const path = join(dir, 'ring.bin');
    const content = Buffer.concat([pattern, pattern, pattern, pattern]); // ~76 MiB, no 4 MiB slot equal to another
    writeFileSync(path, content);
    const r = await hashFileOnce(path, { algorithms: ['md5', 'sha256'], parallel: true });
    expect(r.digests.md5!.equals(createHash('md5').update(content).digest())).toBe(true);
    expect(r.digests.sha256!.equals(createHash('sha256').update(content).digest())).toBe(true);
  });

  it('reports a missing file as INPUT_UNREADABLE', async () => {
    await expect(hashFileOnce(join(dir, 'absent'), { algorithms: ['sha256'] })).rejects.toSatisfy((e: unknown) => isCeremonyError(e, 'INPUT_UNREADABLE'));
  });

  it('balances the algorithms over the lanes', () => {
    expect(planLanes(['md5', 'sha1', 'sha256', 'sha512'], 2).map((l) => l.sort())).toEqual([['md5', 'sha256'], ['sha1', 'sha512']]);
    expect(planLanes(['sha256'], 4)).toEqual([['sha256']]);
  });
});
