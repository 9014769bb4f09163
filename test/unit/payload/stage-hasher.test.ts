/**
 * The input's hashing thread can be started before the signing pass (ceremony/payload/stage-hasher.ts):
 * the hasher that takes it must hash exactly what one started with the pass hashes, and a thread that is
 * never taken (a ceremony refused before its pass) must not keep the process alive.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { StageHasher, prestartStageHasher } from '../../../ceremony/payload/stage-hasher.js';
import { REPO } from '../../helpers/cli.js';

function stages(): { pool: SharedArrayBuffer; views: Buffer[] } {
  const pool = new SharedArrayBuffer(3 * 1024);
  const all = Buffer.from(pool);
  for (let i = 0; i < all.length; i++) all[i] = (i * 7 + 3) & 0xff;
  return { pool, views: [all.subarray(0, 1024), all.subarray(1024, 2048), all.subarray(2048, 3000)] };
}

async function digestWith(hasher: StageHasher, head: Buffer, views: Buffer[]): Promise<Buffer> {
  await hasher.updateCopy(head);
  for (const v of views) await hasher.update(v);
  const d = await hasher.digest();
  await hasher.terminate();
  return d;
}

describe('prestarted stage hasher', () => {
  it('a hasher on a prestarted thread hashes the header copy and the stages, in order, like one started with the pass', async () => {
    const head = Buffer.from('CrAU header and manifest');
    const { pool, views } = stages();
    const expected = createHash('sha256').update(head);
    for (const v of views) expected.update(v);
    prestartStageHasher();
    const prestarted = await digestWith(StageHasher.start(pool, 'input'), head, views);
    const fresh = await digestWith(StageHasher.start(pool, 'input'), head, views); // no spare left: a new thread
    expect(prestarted.equals(expected.digest())).toBe(true);
    expect(fresh.equals(prestarted)).toBe(true);
  });

  it('a prestarted thread that no pass takes does not keep the process alive', () => {
    // The compiled module, as the CLI runs it (the thread's source is CommonJS: no --input-type=module here).
    const code = "import('./dist/ceremony/payload/stage-hasher.js').then((m) => { m.prestartStageHasher(); console.log('started'); });";
    const r = spawnSync(process.execPath, ['-e', code], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    expect(r.signal, 'killed by the timeout: the idle thread kept the process alive').toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('started\n');
  });
});
