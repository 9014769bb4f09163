/**
 * The desk's backup and restore handlers (main/desk-backup.ts) with a recording worker and scripted dialogs,
 * over the real quorum core: refused on a networked machine before any dialog or HSM work; the backup file
 * chosen in main (never a path from the renderer) before any share; shares checked on arrival through the
 * renewal's share entry; below k refused before the worker; PINs, SO PIN and shares wiped once used; a
 * renewal's session cannot run a backup, nor a backup's session a renewal.
 */
import { describe, expect, it } from 'vitest';
import { formatShare, newQuorumSecret, splitQuorumSecret } from '../../../ceremony/quorum/index.js';
import type { DeskConfig, DeskCore, DialogPurpose } from '../../../main/desk.js';
import { createDesk } from '../../../main/desk.js';
import type { Handlers } from '../../../main/ipc.js';
import type { JobName } from '../../../main/worker/protocol.js';

const CONFIG: DeskConfig = {
  file: '/ceremony/ceremony.json',
  identity: 'Example <security@example.org>',
  signingKeyUri: 'pkcs11:token=signing',
  threshold: 3,
  custodians: ['alice', 'bob', 'carol', 'dave', 'erin'],
  trustedKeys: [],
};
const ctx = { progress: () => {} };
const PIN = '246810';
const SO_PIN = 'operator-so-pin';

interface Ran {
  job: JobName;
  params: Record<string, unknown>;
  live: Record<string, unknown>;
}

async function setup(opts: { networked?: boolean; answers?: Partial<Record<DialogPurpose, string>> } = {}) {
  const ran: Ran[] = [];
  const dialogs: DialogPurpose[] = [];
  const split = await splitQuorumSecret(newQuorumSecret(), { threshold: 3, custodians: CONFIG.custodians });
  const set = { setId: '2dd6-e135-e5af-0af4', threshold: 3, custodians: CONFIG.custodians, rootToken: 'root', signingToken: 'signing' };
  const results: Partial<Record<JobName, unknown>> = {
    'backup.open': { view: set, expected: split.descriptor },
    'restore.open': { view: { purpose: 'restore', created: '2026-12-02T15:00:00.000Z', ...set }, expected: split.descriptor },
    'backup.run': { savedAs: '/media/backup/keys.backup', setId: set.setId, keys: [{ token: 'root', label: 'root-key', role: 'root' }], notBackedUp: [], record: { id: 'b', folder: '/ceremony/ceremony-records/b' } },
    'restore.run': { setId: set.setId, restored: [{ token: 'root', label: 'root-key', role: 'root' }], selfCheck: '1 keys sign and verify', record: { id: 'r', folder: '/ceremony/ceremony-records/r' } },
  };
  const core: DeskCore = {
    loadConfig: async () => CONFIG,
    openQuorumSession: async () => ({
      view: { sessionId: '3f9a-12bc-0000-1111-2222-3333-4444-5555', sessionWords: 'w', threshold: 3, custodians: CONFIG.custodians, newThreshold: 3, newCustodians: CONFIG.custodians, currentFingerprint: 'AB'.repeat(20), newValidity: { from: '2026-01-01', to: '2027-01-01' } },
      expected: split.descriptor,
    }),
    decryptShare: async () => {
      throw new Error('not used');
    },
    readFile: async () => Buffer.alloc(0),
    writeFileAtomic: async () => {},
    printToPdf: async () => Buffer.from('%PDF-'),
  };
  const answers: Partial<Record<DialogPurpose, string>> = { config: CONFIG.file, 'save-backup': '/media/backup/keys.backup', 'backup-file': '/media/backup/keys.backup', ...opts.answers };
  const answer = async (p: DialogPurpose) => {
    dialogs.push(p);
    return answers[p] ?? null;
  };
  const desk: Handlers = createDesk({
    dialogs: { openFile: answer, openFolder: answer, saveFile: answer },
    worker: {
      run: ((job: JobName, params: Record<string, unknown>) => {
        // What the worker got (a copy), and the live object main keeps, to see it wiped after.
        ran.push({ job, params: structuredClone(params), live: params });
        return { id: `job-${ran.length}`, result: Promise.resolve(results[job]) };
      }) as never,
      cancel: () => false,
    },
    airGap: () => (opts.networked ? { airGapped: false, interfacesUp: ['eth0'] } : { airGapped: true, interfacesUp: [] }),
    core,
  });
  await desk.configOpen(undefined, ctx);
  dialogs.length = 0;
  const share = (i: number) => ({ source: 'text' as const, text: formatShare(split.shares[i]!) });
  return { desk, ran, dialogs, split, share };
}

const zeroed = (b: unknown) => b instanceof Uint8Array && b.length > 0 && b.every((x) => x === 0);

describe('backup in the app (main side)', () => {
  it('is refused on a networked machine before any dialog or HSM work', async () => {
    const { desk, ran, dialogs } = await setup({ networked: true });
    await expect(desk.backupOpen(undefined, ctx)).rejects.toMatchObject({ code: 'NETWORK_UP' });
    await expect(desk.restoreOpen(undefined, ctx)).rejects.toMatchObject({ code: 'NETWORK_UP' });
    expect(dialogs).toEqual([]);
    expect(ran).toEqual([]);
  });

  it('the backup file is the one chosen in main before any share; cancelling the dialog starts nothing', async () => {
    const cancelled = await setup({ answers: { 'save-backup': undefined } });
    expect(await cancelled.desk.backupOpen(undefined, ctx)).toBeNull();
    expect(cancelled.ran).toEqual([]);
    await expect(cancelled.desk.renewAddShare(cancelled.share(0), ctx)).rejects.toMatchObject({ code: 'USAGE' });

    const { desk, ran, share } = await setup({ answers: { 'save-backup': '/media/usb-1/keys-2026.backup' } });
    expect(await desk.backupOpen(undefined, ctx)).toMatchObject({ purpose: 'backup', savesAs: '/media/usb-1/keys-2026.backup', threshold: 3 });
    for (const i of [0, 1, 2]) await desk.renewAddShare(share(i), ctx);
    await desk.backupRun({ signingPin: PIN }, ctx);
    const job = ran.find((r) => r.job === 'backup.run')!;
    expect(job.params).toMatchObject({ configFile: CONFIG.file, outFile: '/media/usb-1/keys-2026.backup', recordDir: '/ceremony/ceremony-records', allowNetwork: false });
  });

  it('takes its shares through the share entry: each checked on arrival, a foreign one refused and not counted', async () => {
    const { desk, share } = await setup();
    await desk.backupOpen(undefined, ctx);
    // A share of another set (e.g. the one a renewal superseded) opens nothing.
    const other = await splitQuorumSecret(newQuorumSecret(), { threshold: 3, custodians: CONFIG.custodians });
    await expect(desk.renewAddShare({ source: 'text', text: formatShare(other.shares[0]!) }, ctx)).rejects.toMatchObject({ code: 'SHARE_FOREIGN' });
    expect(await desk.renewAddShare(share(0), ctx)).toEqual({ custodian: 'alice', index: 1, have: 1, need: 3 });
  });

  it('k-1 shares: refused (QUORUM_NOT_MET) before the worker, the PIN wiped; the shares stay for the k-th', async () => {
    const { desk, ran, share } = await setup();
    await desk.backupOpen(undefined, ctx);
    await desk.renewAddShare(share(0), ctx);
    expect(await desk.renewAddShare(share(1), ctx)).toMatchObject({ have: 2, need: 3 });
    await expect(desk.backupRun({ signingPin: PIN }, ctx)).rejects.toMatchObject({ code: 'QUORUM_NOT_MET', message: expect.stringContaining('2 of 3') });
    expect(ran.filter((r) => r.job === 'backup.run')).toEqual([]);
    expect(await desk.renewAddShare(share(2), ctx)).toMatchObject({ have: 3, need: 3 });
    await desk.backupRun({ signingPin: PIN }, ctx);
    const job = ran.find((r) => r.job === 'backup.run')!;
    expect((job.params.shares as unknown[]).length).toBe(3);
    expect(Buffer.from(job.params.signingPin as Uint8Array).toString()).toBe(PIN);
    // Once the job is over, main's copies of the PIN and of every share are zeros.
    expect(zeroed(job.live.signingPin)).toBe(true);
    expect((job.live.shares as { text: Uint8Array }[]).every((s) => zeroed(s.text))).toBe(true);
  });

  it("a renewal's session cannot run a backup, and a backup's session cannot run a renewal or be confirmed as one", async () => {
    const { desk, ran, share } = await setup();
    await desk.renewOpen(undefined, ctx);
    await desk.renewConfirmSession({ typed: '3f9a-12bc-0000-1111-2222-3333-4444-5555' }, ctx);
    for (const i of [0, 1, 2]) await desk.renewAddShare(share(i), ctx);
    await expect(desk.backupRun({ signingPin: PIN }, ctx)).rejects.toMatchObject({ code: 'USAGE' });

    await desk.backupOpen(undefined, ctx);
    await expect(desk.renewConfirmSession({ typed: '3f9a-12bc-0000-1111-2222-3333-4444-5555' }, ctx)).rejects.toMatchObject({ code: 'USAGE' });
    for (const i of [0, 1, 2]) await desk.renewAddShare(share(i), ctx);
    await expect(desk.renewRun({ signingPin: PIN }, ctx)).rejects.toMatchObject({ code: 'USAGE' });
    expect(ran.filter((r) => r.job === 'renew.run' || r.job === 'backup.run')).toEqual([]);
  });
});

describe('restore in the app (main side)', () => {
  it('restores the backup file chosen in main; the SO PIN, the PIN and the shares are wiped after; the session ends', async () => {
    const { desk, ran, dialogs, share } = await setup({ answers: { 'backup-file': '/media/usb-2/keys.backup' } });
    expect(await desk.restoreOpen(undefined, ctx)).toMatchObject({ purpose: 'restore', file: 'keys.backup', created: '2026-12-02T15:00:00.000Z' });
    expect(dialogs).toEqual(['backup-file']);
    expect(ran[0]).toMatchObject({ job: 'restore.open', params: { configFile: CONFIG.file, backupFile: '/media/usb-2/keys.backup' } });
    for (const i of [2, 3]) await desk.renewAddShare(share(i), ctx);
    await expect(desk.restoreRun({ signingPin: PIN, soPin: SO_PIN }, ctx)).rejects.toMatchObject({ code: 'QUORUM_NOT_MET' });
    expect(ran.filter((r) => r.job === 'restore.run')).toEqual([]);
    await desk.renewAddShare(share(4), ctx);
    expect(await desk.restoreRun({ signingPin: PIN, soPin: SO_PIN }, ctx)).toMatchObject({ selfCheck: '1 keys sign and verify' });
    const job = ran.find((r) => r.job === 'restore.run')!;
    expect(job.params).toMatchObject({ backupFile: '/media/usb-2/keys.backup', allowNetwork: false });
    expect(Buffer.from(job.params.soPin as Uint8Array).toString()).toBe(SO_PIN);
    expect(zeroed(job.live.soPin)).toBe(true);
    expect(zeroed(job.live.signingPin)).toBe(true);
    expect((job.live.shares as { text: Uint8Array }[]).every((s) => zeroed(s.text))).toBe(true);
    // The session is over: another run needs the backup opened and the shares presented again.
    await expect(desk.renewAddShare(share(0), ctx)).rejects.toMatchObject({ code: 'USAGE' });
    await expect(desk.restoreRun({ signingPin: PIN, soPin: SO_PIN }, ctx)).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('after the recorded override, the restore runs with allowNetwork (the record says so)', async () => {
    const { desk, ran, share } = await setup({ networked: true });
    await desk.airGapOverride({ allowNetwork: true, acknowledgement: 'I accept that this machine is networked' }, ctx);
    await desk.restoreOpen(undefined, ctx);
    for (const i of [0, 1, 2]) await desk.renewAddShare(share(i), ctx);
    await desk.restoreRun({ signingPin: PIN, soPin: SO_PIN }, ctx);
    expect(ran.find((r) => r.job === 'restore.run')!.params).toMatchObject({ allowNetwork: true });
  });
});
