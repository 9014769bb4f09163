/** One read, many hashes: the lanes and the serial pass agree with hashing the bytes directly. */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashFileOnce, planLanes, PARALLEL_MIN_BYTES } from '../../ceremony/hash-pass.js';
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

/**
 * The pass's own guards, each with a test that fails when the guard is removed (a mutation run of hash-pass.ts,
 * docs/MUTATION.md): a file that grows or shrinks while it is read, a read that fails, and the threads and the
 * descriptor a pass must give back.
 */
describe('hashFileOnce refuses what it cannot vouch for, and gives back what it took', () => {
  const tasks = () => readdirSync('/proc/self/task').length;
  /**
   * The threads once those of ended lanes are gone: a thread may outlive its worker's `terminate()` by a few
   * milliseconds. Waits up to 5 s for the count to come down to `expected`, then returns what is left.
   */
  const tick = () => new Promise((r) => setTimeout(r, 10));
  const tasksSettled = async (expected: number) => {
    for (let i = 0; i < 500 && tasks() > expected; i++) await tick();
    return tasks();
  };
  /** The thread count once it has held still for 50 ms (the baseline before a pass). */
  const tasksQuiet = async () => {
    let last = tasks();
    for (let same = 0, i = 0; same < 5 && i < 500; i++) {
      await tick();
      const now = tasks();
      same = now === last ? same + 1 : 0;
      last = now;
    }
    return last;
  };
  const descriptors = () => readdirSync('/proc/self/fd').length;
  const changed = (e: unknown) => isCeremonyError(e, 'INPUT_UNREADABLE') && /changed size while it was being read/.test((e as Error).message);

  for (const parallel of [false, true]) {
    const how = parallel ? 'worker lanes' : 'serial';
    /** A pass over a new 10 MiB file that `change` alters once, after the first bytes were hashed. */
    const passChanging = (name: string, change: (path: string) => void) => {
      const path = join(dir, `${name}-${how}.bin`);
      writeFileSync(path, randomBytes(10 * 1024 * 1024));
      let changedYet = false;
      return hashFileOnce(path, {
        algorithms: ['sha256', 'md5'],
        parallel,
        onProgress: () => {
          if (!changedYet) change(path);
          changedYet = true;
        },
      });
    };

    it(`a file that grows while it is read is refused, not hashed to its new end (${how})`, async () => {
      await expect(passChanging('grows', (path) => appendFileSync(path, randomBytes(4096)))).rejects.toSatisfy(changed);
    });

    it(`a file that shrinks while it is read is refused (${how})`, async () => {
      await expect(passChanging('shrinks', (path) => truncateSync(path, 8 * 1024 * 1024 + 1))).rejects.toSatisfy(changed);
    });

    it(`a read that fails is INPUT_UNREADABLE "cannot be read", with the error as its cause (${how})`, async () => {
      const path = join(dir, `eio-${how}.bin`);
      writeFileSync(path, randomBytes(10 * 1024 * 1024));
      // The FileHandle class is not exported: its prototype is reached through a handle.
      const probe = await open(path, 'r');
      const proto = Object.getPrototypeOf(probe) as { read: (...a: unknown[]) => Promise<unknown> };
      await probe.close();
      const eio = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      const real = proto.read;
      let reads = 0;
      const spy = vi.spyOn(proto, 'read').mockImplementation(function (this: unknown, ...args: unknown[]) {
        return ++reads === 2 ? Promise.reject(eio) : real.apply(this, args);
      });
      try {
        const pass = hashFileOnce(path, { algorithms: ['sha256', 'md5'], parallel });
        await expect(pass).rejects.toSatisfy((e: unknown) => isCeremonyError(e, 'INPUT_UNREADABLE') && /cannot be read$/.test((e as Error).message) && (e as Error).cause === eio);
      } finally {
        spy.mockRestore();
      }
    });

    it(`closes its descriptor and ends its threads, after a pass and after a refusal (${how})`, async () => {
      const path = join(dir, `gives-back-${how}.bin`);
      writeFileSync(path, randomBytes(10 * 1024 * 1024));
      await hashFileOnce(path, { algorithms: ['sha256', 'md5'], parallel }); // the thread pool and lazy threads come up
      const threads = await tasksQuiet();
      const fds = descriptors();
      await hashFileOnce(path, { algorithms: ['sha256', 'md5'], parallel });
      expect([descriptors(), await tasksSettled(threads)]).toEqual([fds, threads]);
      await expect(passChanging('gives-back-grows', (p) => appendFileSync(p, 'x'))).rejects.toSatisfy(changed);
      expect([descriptors(), await tasksSettled(threads)]).toEqual([fds, threads]);
    });
  }

  it('takes the hashing threads where they pay, and the serial pass elsewhere (the threads counted during the pass)', async () => {
    // Both passes give the same digests, so only the threads show which one ran; without this, the tests of
    // the lanes above would pass as well over a serial pass.
    const big = join(dir, 'big.bin');
    writeFileSync(big, randomBytes(PARALLEL_MIN_BYTES));
    const small = join(dir, 'small.bin');
    writeFileSync(small, randomBytes(PARALLEL_MIN_BYTES - 1));
    await hashFileOnce(small, { algorithms: ['sha256', 'md5'] }); // the thread pool comes up
    const base = await tasksQuiet();
    const threadsDuring = async (path: string, options: { algorithms: string[]; parallel?: boolean | 'auto' }) => {
      const before = await tasksSettled(base); // the lanes of the pass before have ended
      let most = 0;
      await hashFileOnce(path, { ...options, onProgress: () => (most = Math.max(most, tasks())) });
      return most - before;
    };
    const several = availableParallelism() > 1;
    expect(await threadsDuring(big, { algorithms: ['sha256', 'md5'] })).toBe(several ? 2 : 0);
    expect(await threadsDuring(big, { algorithms: ['sha256', 'md5'], parallel: 'auto' })).toBe(several ? 2 : 0);
    expect(await threadsDuring(small, { algorithms: ['sha256', 'md5'] })).toBe(0);
    expect(await threadsDuring(big, { algorithms: ['sha256'] })).toBe(0);
    expect(await threadsDuring(big, { algorithms: ['sha256', 'md5'], parallel: false })).toBe(0);
    expect(await threadsDuring(small, { algorithms: ['sha256', 'md5'], parallel: true })).toBe(2);
  });

  it('weighs the algorithms by their cost when it plans the lanes', () => {
    // md5 (3) and sha256 (1) against sha512 (2.5) and BLAKE2b-512 (2.1); equal weights would pair them by position.
    expect(planLanes(['sha512', 'blake2b512', 'md5', 'sha256'], 2).map((l) => l.sort())).toEqual([['md5', 'sha256'], ['blake2b512', 'sha512']]);
  });
});
