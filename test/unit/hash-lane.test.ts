/**
 * The hashing thread both passes use (ceremony/hash-lane.ts): the verifier's lanes over its ring and the
 * payload signing pass's over its stages. A lane must hash exactly the regions it is told to, in order,
 * whether its thread was prestarted or not; give the digest so far without ending; finish trailers from a
 * copy of its state; refuse a buffer outside its pool; and a prestarted thread that no pass takes must not
 * keep the process alive.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HashLane, prestartHashLanes } from '../../ceremony/hash-lane.js';
import { REPO } from '../helpers/cli.js';

function pool(): { pool: SharedArrayBuffer; views: Buffer[] } {
  const shared = new SharedArrayBuffer(3 * 1024);
  const all = Buffer.from(shared);
  for (let i = 0; i < all.length; i++) all[i] = (i * 7 + 3) & 0xff;
  return { pool: shared, views: [all.subarray(0, 1024), all.subarray(1024, 2048), all.subarray(2048, 3000)] };
}

async function digestWith(lane: HashLane, head: Buffer, views: Buffer[]): Promise<Buffer> {
  await lane.updateCopy(head);
  for (const v of views) await lane.updateView(v);
  const d = await lane.digest('sha256');
  await lane.terminate();
  return d;
}

describe('a hashing lane', () => {
  it('on a prestarted thread hashes a copied header and the pool regions, in order, like one started with the pass', async () => {
    const head = Buffer.from('CrAU header and manifest');
    const { pool: shared, views } = pool();
    const expected = createHash('sha256').update(head);
    for (const v of views) expected.update(v);
    prestartHashLanes(1);
    const prestarted = await digestWith(HashLane.start(shared, ['sha256'], 'the test input'), head, views);
    const fresh = await digestWith(HashLane.start(shared, ['sha256'], 'the test input'), head, views); // no spare left: a new thread
    expect(prestarted.equals(expected.digest())).toBe(true);
    expect(fresh.equals(prestarted)).toBe(true);
  });

  it('gives the digest so far and goes on; finishes every algorithm and each trailer from a copy of its state', async () => {
    const { pool: shared, views } = pool();
    const lane = HashLane.start(shared, ['sha256', 'sha512'], 'the test input');
    try {
      await lane.updateView(views[0]!);
      const early = await lane.peek('sha256');
      expect(early.equals(createHash('sha256').update(views[0]!).digest())).toBe(true);
      await lane.update(views[1]!.byteOffset, views[1]!.length);
      const trailer = Buffer.from([0x04, 0xff, 0, 0, 0, 6]);
      const { digests, trailed } = await lane.finish([
        { algorithm: 'sha512', trailer },
        { algorithm: 'sha256', trailer },
      ]);
      const data = Buffer.concat([views[0]!, views[1]!]);
      expect(digests.sha256!.equals(createHash('sha256').update(data).digest())).toBe(true);
      expect(digests.sha512!.equals(createHash('sha512').update(data).digest())).toBe(true);
      expect(trailed[0]!.equals(createHash('sha512').update(data).update(trailer).digest())).toBe(true);
      expect(trailed[1]!.equals(createHash('sha256').update(data).update(trailer).digest())).toBe(true);
    } finally {
      await lane.terminate();
    }
  });

  it('refuses a buffer outside its pool and an algorithm it does not compute (INTERNAL), before hashing anything', async () => {
    const { pool: shared } = pool();
    const lane = HashLane.start(shared, ['sha256'], 'the test input');
    try {
      await expect(lane.updateView(Buffer.alloc(16))).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/outside its pool/) });
      await expect(lane.peek('sha512')).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/does not compute sha512/) });
      await expect(lane.finish([{ algorithm: 'md5', trailer: Buffer.alloc(1) }])).rejects.toMatchObject({ code: 'INTERNAL' });
      expect((await lane.digest('sha256')).equals(createHash('sha256').digest())).toBe(true);
    } finally {
      await lane.terminate();
    }
  });

  it('a lane whose thread dies fails what was asked of it (INTERNAL), and everything after', async () => {
    const { pool: shared, views } = pool();
    const lane = HashLane.start(shared, ['sha256'], 'the test input');
    await lane.terminate();
    await expect(lane.updateView(views[0]!)).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/the thread hashing the test input stopped early/) });
    await expect(lane.digest('sha256')).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('a prestarted thread that no pass takes does not keep the process alive', () => {
    // The compiled module, as the CLI runs it (the thread's source is CommonJS: no --input-type=module here).
    const code = "import('./dist/ceremony/hash-lane.js').then((m) => { m.prestartHashLanes(2); console.log('started'); });";
    const r = spawnSync(process.execPath, ['-e', code], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    expect(r.signal, 'killed by the timeout: the idle thread kept the process alive').toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('started\n');
  });
});
