/**
 * The ceremony worker: a real forked worker process (dist/main/worker/entry.js, compiled by the suite's
 * global setup) answering jobs with CeremonyError codes, the host's cancel and crash handling, and the
 * inbox job on a real signed release, cancelled and not.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSoftHsm, type SoftHsm } from '../../helpers/softhsm.js';
import { makeDemoBuildServer, type DemoBuildServer } from '../../../ceremony/release/demo-build-server.js';
import { CeremonyWorker, channelFromChildProcess, type WorkerChannel } from '../../../main/worker/host.js';
import { JOBS } from '../../../main/worker/jobs.js';
import type { FromWorker, ToWorker } from '../../../main/worker/protocol.js';

const ENTRY = fileURLToPath(new URL('../../../dist/main/worker/entry.js', import.meta.url));
let dir: string;
let build: DemoBuildServer;
let hsm: SoftHsm;
let deactivate: () => void;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'worker-test-'));
  build = await makeDemoBuildServer(join(dir, 'build'), { rsaBits: 2048 });
  // A SoftHSM of our own with no 'signing' token: the job's key lookup must fail after verifying.
  hsm = makeSoftHsm();
  hsm.initToken('other', '123456');
  deactivate = hsm.activate();
});
afterAll(() => {
  deactivate();
  hsm.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function realWorker() {
  return new CeremonyWorker(() => channelFromChildProcess(fork(ENTRY, [], { serialization: 'advanced', stdio: 'inherit' })));
}

describe('the worker process', () => {
  it('answers a job with the core\'s error code, never a stack', async () => {
    const w = realWorker();
    try {
      const empty = mkdtempSync(join(dir, 'empty-'));
      await expect(w.run('inbox.scan', { folder: empty, trustedKeys: [], signingKeyUri: 'pkcs11:token=signing' }).result).rejects.toMatchObject({ code: 'USAGE' });
      await expect(w.run('inbox.scan', { folder: join(dir, 'absent'), trustedKeys: [], signingKeyUri: 'pkcs11:token=signing' }).result).rejects.toMatchObject({
        code: 'INPUT_UNREADABLE',
        message: expect.not.stringMatching(/\n\s+at /),
      });
    } finally {
      w.stop();
    }
  });

  it('reviews a folder that is not a record as a clear refusal, in the worker', async () => {
    const w = realWorker();
    try {
      const job = w.run('audit.review', { folder: join(dir, 'build'), trustedKeys: [] });
      expect(job.id).toMatch(/^job-\d+$/);
      await expect(job.result).rejects.toMatchObject({ code: expect.stringMatching(/^(RECORD_MALFORMED|INPUT_UNREADABLE)$/) });
    } finally {
      w.stop();
    }
  });
});

describe('the worker host', () => {
  function fakeChannel() {
    const sent: ToWorker[] = [];
    let onMessage: (m: FromWorker) => void = () => {};
    let onExit: (c: number | null) => void = () => {};
    const channel: WorkerChannel = {
      postMessage: (m) => void sent.push(m),
      onMessage: (l) => void (onMessage = l),
      onExit: (l) => void (onExit = l),
      kill: () => onExit(null),
    };
    return { channel, sent, message: (m: FromWorker) => onMessage(m), exit: () => onExit(1) };
  }

  it('relays progress, and cancel sends a cancel for that job only', async () => {
    const f = fakeChannel();
    const w = new CeremonyWorker(() => f.channel);
    const progress: unknown[] = [];
    const job = w.run('audit.review', { folder: '/r', trustedKeys: [] }, (p) => progress.push(p));
    f.message({ type: 'progress', id: job.id, step: 'verify-input', label: 'x', done: 1, total: 2 });
    expect(w.cancel(job.id)).toBe(true);
    expect(w.cancel('job-999')).toBe(false);
    expect(f.sent.at(-1)).toEqual({ type: 'cancel', id: job.id });
    f.message({ type: 'failed', id: job.id, error: { code: 'CANCELLED', message: 'the work was cancelled; nothing was written' } });
    await expect(job.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(progress).toEqual([{ step: 'verify-input', label: 'x', done: 1, total: 2 }]);
  });

  it('a worker that dies fails its pending jobs with CANCELLED, and the next job starts a new one', async () => {
    const channels = [fakeChannel(), fakeChannel()];
    let spawned = 0;
    const w = new CeremonyWorker(() => channels[spawned++]!.channel);
    const job = w.run('audit.review', { folder: '/r', trustedKeys: [] });
    channels[0]!.exit();
    await expect(job.result).rejects.toMatchObject({ code: 'CANCELLED' });
    w.run('audit.review', { folder: '/r', trustedKeys: [] });
    expect(spawned).toBe(2);
  });
});

describe('the inbox job', () => {
  const params = () => ({ folder: build.dir, trustedKeys: [build.certificate], signingKeyUri: 'pkcs11:token=signing' });

  it('stops at its first step boundary when cancelled, before anything is reported as verified', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(JOBS['inbox.scan'](params(), { signal: controller.signal, progress: () => {} })).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('verifies every release file with progress that only moves forward', async () => {
    const seen: number[] = [];
    // No token here: the key lookup after verification fails, which proves verification finished first.
    await expect(JOBS['inbox.scan'](params(), { signal: new AbortController().signal, progress: (_s, _l, done) => seen.push(done) })).rejects.toMatchObject({
      code: 'TOKEN_NOT_FOUND',
    });
    expect(seen.length).toBeGreaterThan(1);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(build.files.length);
  });
});
