/**
 * The desk (main's handlers) with a recording worker and scripted dialogs, over the real quorum core:
 * ceremonies refused on a networked machine before any work, PINs and shares wiped once used, shares
 * checked and named on arrival, paths only from dialogs.
 */
import { describe, expect, it } from 'vitest';
import { newQuorumSecret, splitQuorumSecret, formatShare, formatShareWords } from '../../../ceremony/quorum/index.js';
import type { DeskConfig, DeskCore, DialogPurpose } from '../../../main/desk.js';
import { createDesk } from '../../../main/desk.js';
import { dispatch, type Handlers } from '../../../main/ipc.js';
import type { JobName } from '../../../main/worker/protocol.js';

const CONFIG: DeskConfig = {
  file: '/ceremony/ceremony.json',
  identity: 'Example <security@example.org>',
  signingKeyUri: 'pkcs11:token=signing',
  threshold: 3,
  custodians: ['alice', 'bob', 'carol', 'dave', 'erin'],
  trustedKeys: ['/ceremony/keys/build.asc'],
};
const ctx = { progress: () => {} };

interface Ran {
  job: JobName;
  params: Record<string, unknown>;
}

async function setup(opts: { networked?: boolean; results?: Partial<Record<JobName, unknown>>; answers?: Partial<Record<DialogPurpose, string>> } = {}) {
  const ran: Ran[] = [];
  const written: { path: string; data: string }[] = [];
  const split = await splitQuorumSecret(newQuorumSecret(), { threshold: 3, custodians: CONFIG.custodians });
  const files: Record<string, Uint8Array> = {};
  const core: DeskCore = {
    loadConfig: async () => CONFIG,
    openQuorumSession: async () => ({
      view: { sessionId: '3f9a-12bc-0000-1111-2222-3333-4444-5555', sessionWords: 'w', threshold: 3, custodians: CONFIG.custodians, newThreshold: 3, newCustodians: CONFIG.custodians, currentFingerprint: 'AB'.repeat(20), newValidity: { from: '2026-01-01', to: '2027-01-01' } },
      expected: split.descriptor,
    }),
    decryptShare: async () => {
      throw new Error('not used');
    },
    readFile: async (p) => Buffer.from(files[p] ?? Buffer.alloc(0)),
    writeFileAtomic: async (path, data) => void written.push({ path, data: Buffer.from(data).toString() }),
    printToPdf: async () => Buffer.from('%PDF-'),
  };
  const answers = { config: CONFIG.file, inbox: '/media/inbox', 'out-dir': '/media/out', ...opts.answers };
  const desk: Handlers = createDesk({
    dialogs: { openFile: async (p) => answers[p] ?? null, openFolder: async (p) => answers[p] ?? null, saveFile: async (p) => answers[p] ?? null },
    worker: {
      run: ((job: JobName, params: Record<string, unknown>) => {
        // Snapshot what the worker got, then let the desk wipe its copies.
        ran.push({ job, params: structuredClone(params) });
        (ran.at(-1) as Ran & { live: unknown }).live = params;
        return { id: `job-${ran.length}`, result: Promise.resolve(opts.results?.[job]) };
      }) as never,
      cancel: () => false,
    },
    airGap: () => (opts.networked ? { airGapped: false, interfacesUp: ['eth0'] } : { airGapped: true, interfacesUp: [] }),
    core,
  });
  await desk.configOpen(undefined, ctx);
  return { desk, ran, written, split, files };
}

const inboxView = { folder: '/media/inbox', files: [{ name: 'a.bin', size: 1, kind: 'release', status: 'VERIFIED', sha256: '00' }], supporting: [], unused: [], signingKey: { uri: 'pkcs11:token=signing;object=k', label: 'k', fingerprint: 'AB'.repeat(20), role: 'OpenPGP signing subkey', validFrom: '2026-01-01T00:00:00.000Z' }, payloadKeys: [] };
const KEY = 'AB'.repeat(20);
const PAYLOAD_KEY = 'pkcs11:token=signing;object=payload-2027;type=private';
const inboxWithPayload = {
  ...inboxView,
  files: [...inboxView.files, { name: 'update.gz', size: 1, kind: 'payload', status: 'VERIFIED', sha256: '11' }],
  payloadKeys: [{ uri: PAYLOAD_KEY, label: 'payload-2027', fingerprint: 'CD'.repeat(32) }],
};
const signOutcome = { key: { uri: 'u', label: 'k', fingerprint: 'f' }, outputs: [], record: { id: 'x', folder: '/r' }, records: [{ id: 'x', folder: '/r' }], skipped: [] };

describe('the desk', () => {
  it('refuses to sign on a networked machine before any HSM work, and wipes the PIN', async () => {
    const { desk, ran } = await setup({ networked: true, results: { 'inbox.scan': inboxView } });
    await desk.signChooseInbox(undefined, ctx);
    await expect(desk.signRun({ pin: '123456', confirmedKey: KEY }, ctx)).rejects.toMatchObject({ code: 'NETWORK_UP' });
    expect(ran.map((r) => r.job)).toEqual(['inbox.scan']);
  });

  it('after the recorded override, the ceremony runs with allowNetwork, and the PIN bytes are wiped after', async () => {
    const { desk, ran } = await setup({ networked: true, results: { 'inbox.scan': inboxView, 'sign.run': signOutcome } });
    await desk.signChooseInbox(undefined, ctx);
    const view = await desk.airGapOverride({ allowNetwork: true, acknowledgement: 'I accept that this machine is networked' }, ctx);
    expect(view).toEqual({ airGapped: false, interfacesUp: ['eth0'], overridden: true });
    await desk.signRun({ pin: '123456', confirmedKey: KEY }, ctx);
    const sign = ran.find((r) => r.job === 'sign.run')! as Ran & { live: { pin: Uint8Array } };
    expect(sign.params).toMatchObject({ allowNetwork: true, signingKeyUri: 'pkcs11:token=signing;object=k', folder: '/media/inbox', outDir: '/media/out' });
    expect(Buffer.from(sign.params.pin as Uint8Array).toString()).toBe('123456');
    expect([...sign.live.pin].every((b) => b === 0)).toBe(true);
  });

  it('the worker is asked to sign the whole chosen inbox, never a subset the renderer picked', async () => {
    const rejectedInbox = { ...inboxView, files: [...inboxView.files, { name: 'b.bin', size: 1, kind: 'release', status: 'REJECTED', reason: { code: 'DIGEST_MISMATCH', message: 'x' }, sha256: '22' }] };
    const { desk, ran } = await setup({ results: { 'inbox.scan': rejectedInbox, 'sign.run': signOutcome } });
    await desk.signChooseInbox(undefined, ctx);
    // The IPC schema refuses a file list; even a handler called directly passes only the folder.
    await desk.signRun({ pin: '123456', confirmedKey: KEY, files: ['a.bin'] } as never, ctx);
    const sign = ran.find((r) => r.job === 'sign.run')!;
    expect(sign.params).toMatchObject({ folder: '/media/inbox', scanned: ['a.bin', 'b.bin'] });
    expect(sign.params).not.toHaveProperty('files');
  });

  it('an inbox with payloads needs a payload key listed from the token; a URI of the renderer\'s choosing is refused', async () => {
    const { desk, ran } = await setup({ results: { 'inbox.scan': inboxWithPayload, 'sign.run': signOutcome } });
    await desk.signChooseInbox(undefined, ctx);
    await expect(desk.signRun({ pin: '123456', confirmedKey: KEY }, ctx)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('payload key') });
    await expect(desk.signRun({ pin: '123456', confirmedKey: KEY, payloadKey: 'pkcs11:token=other;object=attacker' }, ctx)).rejects.toMatchObject({ code: 'USAGE' });
    expect(ran.map((r) => r.job)).toEqual(['inbox.scan']);
    await desk.signRun({ pin: '123456', confirmedKey: KEY, payloadKey: PAYLOAD_KEY }, ctx);
    expect(ran.find((r) => r.job === 'sign.run')!.params).toMatchObject({ folder: '/media/inbox', payloadKeyUri: PAYLOAD_KEY });
  });

  it('without a payload key on the token, the payloads go to the worker unsigned-by-choice (it skips them with a note)', async () => {
    const { desk, ran } = await setup({ results: { 'inbox.scan': { ...inboxWithPayload, payloadKeys: [] }, 'sign.run': signOutcome } });
    await desk.signChooseInbox(undefined, ctx);
    await desk.signRun({ pin: '123456', confirmedKey: KEY }, ctx);
    expect(ran.find((r) => r.job === 'sign.run')!.params).not.toHaveProperty('payloadKeyUri');
  });

  it('refuses shares before the custodians confirmed the session ID, and a wrong ID', async () => {
    const { desk, split } = await setup();
    await desk.renewOpen(undefined, ctx);
    await expect(desk.renewAddShare({ source: 'text', text: formatShare(split.shares[0]!) }, ctx)).rejects.toMatchObject({ code: 'USAGE' });
    await expect(desk.renewConfirmSession({ typed: '3f9a-12bc-0000-1111-2222-3333-4444-6666' }, ctx)).rejects.toMatchObject({ code: 'QUORUM_MISMATCH' });
  });

  it('checks each share on arrival, names a mistyped one, refuses a duplicate, and counts x/k', async () => {
    const { desk, split } = await setup();
    await desk.renewOpen(undefined, ctx);
    await desk.renewConfirmSession({ typed: '3F9A 12BC 0000 1111 2222 3333 4444 5555' }, ctx);
    expect(await desk.renewAddShare({ source: 'text', text: formatShare(split.shares[0]!) }, ctx)).toEqual({ custodian: 'alice', index: 1, have: 1, need: 3 });
    const typo = formatShare(split.shares[1]!).replace(/^(Data: )([0-9a-f])/m, (_m, p: string, d: string) => p + (d === '0' ? '1' : '0'));
    await expect(desk.renewAddShare({ source: 'text', text: typo }, ctx)).rejects.toMatchObject({ code: 'SHARE_INVALID', message: expect.stringContaining('bob') });
    await expect(desk.renewAddShare({ source: 'text', text: formatShare(split.shares[0]!) }, ctx)).rejects.toMatchObject({ code: 'SHARE_DUPLICATE' });
    expect(await desk.renewAddShare({ source: 'text', text: formatShareWords(split.shares[2]!) }, ctx)).toMatchObject({ custodian: 'carol', have: 2 });
  });

  it('a refused share still reaches the ceremony, in the order presented, so its record names the refusal; all are wiped after', async () => {
    const { desk, split, ran } = await setup({
      results: { 'renew.run': { newSubkeyFingerprint: 'F', certificateFingerprint: 'C', newShares: [], shareFiles: [], record: { id: 'r', folder: '/r' } } },
    });
    await desk.renewOpen(undefined, ctx);
    await desk.renewConfirmSession({ typed: '3f9a-12bc-0000-1111-2222-3333-4444-5555' }, ctx);
    const typo = formatShare(split.shares[1]!).replace(/^(Data: )([0-9a-f])/m, (_m, p: string, d: string) => p + (d === '0' ? '1' : '0'));
    await desk.renewAddShare({ source: 'text', text: formatShare(split.shares[0]!) }, ctx);
    await expect(desk.renewAddShare({ source: 'text', text: typo }, ctx)).rejects.toMatchObject({ code: 'SHARE_INVALID' });
    await desk.renewAddShare({ source: 'text', text: formatShare(split.shares[2]!) }, ctx);
    // Two accepted of three needed: the refused share does not count towards the quorum.
    await expect(desk.renewRun({ signingPin: '123456' }, ctx)).rejects.toMatchObject({ code: 'QUORUM_NOT_MET', message: expect.stringContaining('2 of 3') });

    await desk.renewOpen(undefined, ctx);
    await desk.renewConfirmSession({ typed: '3f9a-12bc-0000-1111-2222-3333-4444-5555' }, ctx);
    await desk.renewAddShare({ source: 'text', text: formatShare(split.shares[0]!) }, ctx);
    await expect(desk.renewAddShare({ source: 'text', text: typo }, ctx)).rejects.toMatchObject({ code: 'SHARE_INVALID' });
    await desk.renewAddShare({ source: 'text', text: formatShare(split.shares[2]!) }, ctx);
    await desk.renewAddShare({ source: 'text', text: formatShare(split.shares[3]!) }, ctx);
    await desk.renewRun({ signingPin: '123456' }, ctx);
    const renew = ran.find((r) => r.job === 'renew.run')! as Ran & { live: { shares: { text: Uint8Array }[] } };
    const sent = renew.params.shares as { source: string; text: Uint8Array }[];
    expect(sent.map((s) => Buffer.from(s.text).toString('utf8'))).toEqual([formatShare(split.shares[0]!), typo, formatShare(split.shares[2]!), formatShare(split.shares[3]!)]);
    expect(sent.map((s) => s.source)).toEqual(['typed or pasted, share of alice', 'typed or pasted', 'typed or pasted, share of carol', 'typed or pasted, share of dave']);
    expect(renew.live.shares.every((s) => s.text.every((b) => b === 0))).toBe(true);
  });

  it('a share from another split is refused as foreign', async () => {
    const { desk } = await setup();
    const other = await splitQuorumSecret(newQuorumSecret(), { threshold: 3, custodians: CONFIG.custodians });
    await desk.renewOpen(undefined, ctx);
    await desk.renewConfirmSession({ typed: '3f9a12bc000011112222333344445555' }, ctx);
    await expect(desk.renewAddShare({ source: 'text', text: formatShare(other.shares[0]!) }, ctx)).rejects.toMatchObject({ code: 'SHARE_FOREIGN' });
  });

  it('renewal below the threshold is refused before the worker; at k, shares go to the worker and are wiped in main', async () => {
    const { desk, split, ran, written, files } = await setup({
      results: { 'renew.run': { newSubkeyFingerprint: 'F', certificateFingerprint: 'C', newShares: [{ custodian: 'alice' }], shareFiles: [{ custodian: 'alice', file: '/media/out/shares/alice.share', encrypted: false }], record: { id: 'r', folder: '/r' } } },
      answers: { 'save-share': '/media/alice-usb/alice.share' },
    });
    await desk.renewOpen(undefined, ctx);
    await desk.renewConfirmSession({ typed: '3f9a-12bc-0000-1111-2222-3333-4444-5555' }, ctx);
    for (const s of split.shares.slice(0, 2)) await desk.renewAddShare({ source: 'text', text: formatShare(s) }, ctx);
    await expect(desk.renewRun({ signingPin: '123456' }, ctx)).rejects.toMatchObject({ code: 'QUORUM_NOT_MET' });
    expect(ran.filter((r) => r.job === 'renew.run')).toEqual([]);
    // The failed attempt ended the session: shares must be presented again.
    await desk.renewOpen(undefined, ctx);
    await desk.renewConfirmSession({ typed: '3f9a-12bc-0000-1111-2222-3333-4444-5555' }, ctx);
    for (const s of split.shares.slice(0, 3)) await desk.renewAddShare({ source: 'text', text: formatShare(s) }, ctx);
    const outcome = await desk.renewRun({ signingPin: '123456' }, ctx);
    expect(outcome).not.toHaveProperty('shareFiles');
    const renew = ran.find((r) => r.job === 'renew.run')! as Ran & { live: { shares: { text: Uint8Array }[]; signingPin: Uint8Array } };
    expect((renew.params.shares as unknown[]).length).toBe(3);
    expect(renew.live.shares.every((s) => s.text.every((b) => b === 0))).toBe(true);
    expect(renew.live.signingPin.every((b) => b === 0)).toBe(true);

    files['/media/out/shares/alice.share'] = Buffer.from('the new share of alice');
    expect(await desk.renewHandOutShare({ custodian: 'alice' }, ctx)).toEqual({ custodian: 'alice', savedAs: '/media/alice-usb/alice.share', encrypted: false });
    expect(written).toEqual([{ path: '/media/alice-usb/alice.share', data: 'the new share of alice' }]);
    await expect(desk.renewHandOutShare({ custodian: 'alice' }, ctx)).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('reviews a record without the build-server keys (they never vouch for a seal)', async () => {
    const { desk, ran } = await setup({ answers: { record: '/records/x' }, results: { 'audit.review': { verdict: 'intact' } } });
    await desk.auditOpen(undefined, ctx);
    expect(ran.at(-1)).toMatchObject({ job: 'audit.review', params: { folder: '/records/x', trustedKeys: [] } });
  });

  it('a PIN is never sent before the confirmation screen showed the key it unlocks: a PIN for another key is refused before any work', async () => {
    const { desk, ran } = await setup({ results: { 'inbox.scan': inboxView, 'sign.run': signOutcome } });
    await desk.signChooseInbox(undefined, ctx);
    await expect(desk.signRun({ pin: '123456', confirmedKey: 'CD'.repeat(20) }, ctx)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('key confirmed') });
    expect(ran.map((r) => r.job)).toEqual(['inbox.scan']);
    // Grouped as on the screen, any letter case: the same key.
    await desk.signRun({ pin: '123456', confirmedKey: KEY.toLowerCase().match(/.{4}/g)!.join(' ') }, ctx);
    expect(ran.map((r) => r.job)).toEqual(['inbox.scan', 'sign.run']);
  });

  it.each([
    ['yes', 'session ID itself'],
    ['  ', 'type the session ID'],
    ['3f9a-12bc', 'at least the first 4 groups'],
    ['the blue one', 'only the digits'],
  ])('a custodian answering %j to the session confirmation gets a sentence saying what to type, never "malformed request"', async (typed, says) => {
    const { desk } = await setup();
    await desk.renewOpen(undefined, ctx);
    const trusted = { senderFrame: { url: 'app://app/index.html', parent: null }, sender: { mainFrame: null as unknown, send: () => {} } };
    trusted.sender.mainFrame = trusted.senderFrame;
    const r = await dispatch(desk, 'renew:confirm-session', trusted, { typed }, 'app://app');
    expect(r).toMatchObject({ ok: false, error: { code: 'USAGE', message: expect.stringContaining(says) } });
    expect(JSON.stringify(r)).not.toContain('malformed');
    // The first four groups (64 bits) confirm it, as `renew --session-id` accepts.
    expect(await dispatch(desk, 'renew:confirm-session', trusted, { typed: '3f9a-12bc-0000-1111' }, 'app://app')).toEqual({ ok: true, value: { confirmed: true } });
  });

  it('the auditor pins a certificate chosen in main and checked by the worker; the open record is reviewed again against it', async () => {
    const review = { verdict: 'intact', seal: { present: true, valid: true, pinned: true } };
    const { desk, ran } = await setup({
      answers: { record: '/records/x', 'pin-certificate': '/keys/root.asc', artifacts: '/media/release' },
      results: { 'audit.review': review, 'certificate.read': { fingerprint: 'EF'.repeat(20), userIds: ['Root <r@example.org>'] } },
    });
    await expect(desk.auditChooseArtifacts(undefined, ctx)).rejects.toMatchObject({ code: 'USAGE' });
    await desk.auditOpen(undefined, ctx);
    const pinned = await desk.auditPinCertificate(undefined, ctx);
    expect(pinned).toEqual({ pinned: { file: 'root.asc', fingerprint: 'EF'.repeat(20), userIds: ['Root <r@example.org>'] }, review: { ...review, pinnedCertificate: pinned!.pinned } });
    expect(ran.map((r) => r.job)).toEqual(['audit.review', 'certificate.read', 'audit.review']);
    expect(ran[1]!.params).toEqual({ file: '/keys/root.asc' });
    expect(ran[2]!.params).toEqual({ folder: '/records/x', trustedKeys: [{ file: '/keys/root.asc', fingerprint: 'EF'.repeat(20) }] });
    const chosen = await desk.auditChooseArtifacts(undefined, ctx);
    expect(chosen).toMatchObject({ folder: '/media/release' });
    expect(ran.at(-1)!.params).toEqual({ folder: '/records/x', trustedKeys: [{ file: '/keys/root.asc', fingerprint: 'EF'.repeat(20) }], artifactsDir: '/media/release' });
    await desk.auditExport({ format: 'html' }, ctx).catch(() => undefined);
    expect(ran.find((r) => r.job === 'audit.report')!.params).toEqual({ folder: '/records/x', trustedKeys: [{ file: '/keys/root.asc', fingerprint: 'EF'.repeat(20) }], artifactsDir: '/media/release' });
  });
});
