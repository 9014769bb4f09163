/**
 * The ceremony desk: the main-process handlers behind every IPC channel, and the little state a ceremony
 * needs between calls (the chosen config, inbox, quorum session, shares received). Paths come only from
 * native dialogs (Dialogs), secrets only from requests, and every piece of work runs in the worker.
 *
 * Secrets: a PIN or share arrives as a JS string (IPC gives no other choice); it is turned into bytes at
 * once, the bytes go to the worker, and both the worker and this file wipe them after use. The string
 * itself is immutable and left to the garbage collector — the reason the renderer clears its copy at once.
 */
import { basename, dirname, join } from 'node:path';
import { requireAirGap } from '../ceremony/airgap.js';
import { wipe } from '../ceremony/crypto.js';
import { CeremonyError } from '../ceremony/errors.js';
import { MAX_SHARE_FILE_BYTES, QuorumSession } from '../ceremony/quorum/index.js';
import type { Handlers } from './ipc.js';
import type { AirGapView, AuditView, ConfigView, PinnedCertificateView } from './ipc-contract.js';
import { judgeSessionConfirmation } from './session-confirmation.js';
import type { JobProgress } from './worker/host.js';
import { backupHandlers, type QuorumDesk, type QuorumPurpose } from './desk-backup.js';
import type { RenewJobResult } from './worker/protocol.js';
import type { DeskConfig, DeskDeps } from './desk-deps.js';

// The desk's seams live in desk-deps.ts (desk-backup.ts needs them too); desk.ts remains their import path.
export type { DeskConfig, DeskCore, DeskDeps, DialogPurpose, Dialogs } from './desk-deps.js';

/** Shares kept for one renewal, accepted and refused together: a bound on what a renderer can make main hold. */
const MAX_PRESENTED_SHARES = 64;

export function createDesk(deps: DeskDeps): Handlers {
  const { dialogs, worker, core } = deps;
  let overridden = false;
  let config: DeskConfig | undefined;
  // What main scanned; signing always covers every file of this folder (the worker lists it again).
  let inbox: { folder: string; scanned: string[]; keyUri: string; keyFingerprint: string; hasPayloads: boolean; payloadKeys: string[] } | undefined;
  let lastRecord: string | undefined;
  let audited: string | undefined;
  // The auditor's choices for reviews: a pinned certificate (kept across records: one root seals them all)
  // and a folder of artifacts (for the record open now only).
  let pinned: { path: string; view: PinnedCertificateView } | undefined;
  let artifactsDir: string | undefined;
  // The shares stay in main (checked by the core's QuorumSession as they arrive) until the worker needs them.
  // Every share presented, accepted or refused, in order: the ceremony re-checks each one and records
  // share-accepted or share-refused, so a refusal seen in the app is in the record too.
  // One quorum session at a time in the Renew key workspace: a renewal's (its ID confirmed by the
  // custodians first), a backup's or a restore's (issue 11; no session ID: the core checks each share
  // against the set, and the set ID is read aloud from the screen).
  let session: { purpose: QuorumPurpose; threshold: number; sessionId?: string; quorum: QuorumSession; confirmed: boolean; shares: { source: string; text: Uint8Array; accepted: boolean }[] } | undefined;
  const acceptedCount = () => session?.shares.filter((s) => s.accepted).length ?? 0;
  const endSession = () => {
    for (const s of session?.shares ?? []) wipe(s.text);
    session?.quorum.wipe();
    session = undefined;
  };
  let handOut: Map<string, RenewJobResult['shareFiles'][number]> | undefined;
  /** The shares of the session open for `purpose`, in the order presented (refused ones too); refused below k. */
  const sharesFor = (purpose: QuorumPurpose) => {
    if (!session || session.purpose !== purpose) throw new CeremonyError('USAGE', `open the ${purpose} first`);
    if (!session.confirmed) throw new CeremonyError('USAGE', 'the custodians must confirm the session ID first');
    if (acceptedCount() < session.threshold) {
      throw new CeremonyError('QUORUM_NOT_MET', `${acceptedCount()} of ${session.threshold} shares are in; the ${purpose} needs ${session.threshold}`);
    }
    return session.shares.map(({ source, text }) => ({ source, text }));
  };

  const airGapView = (): AirGapView => ({ ...deps.airGap(), overridden });
  /** DESIGN §5: ceremonies refuse a networked machine unless overridden (the record says so). */
  const requireGap = () => requireAirGap(overridden, deps.airGap());
  const needConfig = (): DeskConfig => {
    if (!config) throw new CeremonyError('USAGE', 'open the ceremony configuration first');
    return config;
  };
  const recordDir = (c: DeskConfig) => join(dirname(c.file), 'ceremony-records');
  const relay = (ctx: Parameters<Handlers['signRun']>[1], jobId: () => string) => (p: JobProgress) => ctx.progress({ jobId: jobId(), ...p });

  const auditParams = (folder: string) => ({ folder, trustedKeys: pinned ? [{ file: pinned.path, fingerprint: pinned.view.fingerprint }] : [], ...(artifactsDir ? { artifactsDir } : {}) });
  async function review(folder: string): Promise<AuditView> {
    // The seal is checked against the certificate the auditor pinned, else only against the keys the record
    // carries (keys/), and the view says which. The config's trusted build-server keys are for inputs,
    // never for seals.
    const view = await worker.run('audit.review', auditParams(folder)).result;
    return { ...view, pinnedCertificate: pinned?.view ?? null };
  }

  const quorumDesk: QuorumDesk = {
    dialogs,
    worker,
    needConfig,
    requireGap,
    recordDir,
    relay,
    overridden: () => overridden,
    openQuorum: (purpose, expected) => {
      endSession();
      session = { purpose, threshold: expected.threshold, quorum: new QuorumSession(expected), confirmed: true, shares: [] };
    },
    sharesFor,
    endSession,
    recorded: (folder) => void (lastRecord = folder),
  };

  return {
    ...backupHandlers(quorumDesk),
    airGapStatus: async () => airGapView(),
    airGapOverride: async () => {
      overridden = true;
      const view = airGapView();
      deps.onOverride?.(view);
      return view;
    },
    configOpen: async () => {
      const file = await dialogs.openFile('config', 'Open the ceremony configuration');
      if (!file) return null;
      config = await core.loadConfig(file);
      inbox = undefined;
      endSession();
      const view: ConfigView = {
        file: config.file,
        identity: config.identity,
        signingKey: config.signingKeyUri,
        threshold: config.threshold,
        custodians: config.custodians,
        trustedBuildKeys: config.trustedKeys.length,
      };
      return view;
    },
    signChooseInbox: async (_req, ctx) => {
      const c = needConfig();
      const folder = await dialogs.openFolder('inbox', 'Choose the inbox folder from the transfer media');
      if (!folder) return null;
      let id = '';
      const job = worker.run('inbox.scan', { folder, trustedKeys: c.trustedKeys, configFile: c.file, signingKeyUri: c.signingKeyUri, module: c.module }, relay(ctx, () => id));
      id = job.id;
      const view = await job.result;
      inbox = { folder, scanned: view.files.map((f) => f.name), keyUri: view.signingKey.uri, keyFingerprint: view.signingKey.fingerprint, hasPayloads: view.files.some((f) => f.kind === 'payload'), payloadKeys: view.payloadKeys.map((k) => k.uri) };
      return view;
    },
    signRun: async (req, ctx) => {
      const pin = Buffer.from(req.pin, 'utf8');
      try {
        const c = needConfig();
        requireGap();
        if (!inbox) throw new CeremonyError('USAGE', 'choose the inbox folder first');
        // The PIN goes to the token only after the confirmation screen showed the key it unlocks.
        if (req.confirmedKey.replace(/\s+/g, '').toUpperCase() !== inbox.keyFingerprint.toUpperCase()) {
          throw new CeremonyError('USAGE', 'the key confirmed is not the key this ceremony signs with; choose the inbox folder again and confirm the key shown');
        }
        // The payload key must be one main listed from the signing token, never any URI a renderer sends.
        if (req.payloadKey !== undefined && !inbox.payloadKeys.includes(req.payloadKey)) {
          throw new CeremonyError('USAGE', 'the payload key chosen is not one of the payload keys found on the signing token');
        }
        if (inbox.hasPayloads && inbox.payloadKeys.length > 0 && req.payloadKey === undefined) {
          throw new CeremonyError('USAGE', 'the inbox holds update payloads: choose the payload key to sign them with');
        }
        const outDir = await dialogs.openFolder('out-dir', 'Choose where to write the signatures');
        if (!outDir) throw new CeremonyError('CANCELLED', 'no output folder was chosen; nothing was signed');
        let id = '';
        const job = worker.run(
          'sign.run',
          { folder: inbox.folder, scanned: inbox.scanned, confirmedKey: inbox.keyFingerprint.toUpperCase(), ...(req.payloadKey ? { payloadKeyUri: req.payloadKey } : {}), trustedKeys: c.trustedKeys, configFile: c.file, signingKeyUri: inbox.keyUri, module: c.module, outDir, recordDir: recordDir(c), allowNetwork: overridden, pin },
          relay(ctx, () => id),
        );
        id = job.id;
        const outcome = await job.result;
        lastRecord = outcome.record.folder;
        return outcome;
      } finally {
        wipe(pin);
      }
    },
    signOpenRecord: async () => {
      if (!lastRecord) throw new CeremonyError('USAGE', 'no ceremony has written a record yet');
      audited = lastRecord;
      return review(lastRecord);
    },
    renewOpen: async () => {
      const c = needConfig();
      requireGap();
      endSession();
      const { view, expected } = await core.openQuorumSession(c);
      session = { purpose: 'renew', threshold: view.threshold, sessionId: view.sessionId, quorum: new QuorumSession(expected), confirmed: false, shares: [] };
      return view;
    },
    renewConfirmSession: async (req) => {
      if (!session?.sessionId) throw new CeremonyError('USAGE', 'open the renewal first');
      judgeSessionConfirmation(req.typed, session.sessionId);
      session.confirmed = true;
      return { confirmed: true };
    },
    renewAddShare: async (req) => {
      if (!session?.confirmed) throw new CeremonyError('USAGE', 'the custodians must confirm the session ID first');
      let share: Uint8Array;
      let source: string;
      if (req.source === 'text') {
        share = Buffer.from(req.text, 'utf8');
        source = 'typed or pasted';
      } else {
        const file = await dialogs.openFile('share-file', 'Open the share file');
        if (!file) throw new CeremonyError('CANCELLED', 'no share file was chosen');
        source = basename(file);
        const bytes = await core.readFile(file, MAX_SHARE_FILE_BYTES);
        if (req.source === 'file') {
          share = bytes;
        } else {
          const keyFile = await dialogs.openFile('share-key', "Open the custodian's private key file");
          if (!keyFile) throw new CeremonyError('CANCELLED', 'no key file was chosen');
          const passphrase = Buffer.from(req.passphrase, 'utf8');
          try {
            share = await core.decryptShare(bytes, keyFile, passphrase);
          } finally {
            wipe(passphrase, bytes);
          }
        }
      }
      if (session.shares.length >= MAX_PRESENTED_SHARES) {
        wipe(share);
        throw new CeremonyError('USAGE', `${MAX_PRESENTED_SHARES} shares were presented in this ${session.purpose}; open the ${session.purpose} again to start over`);
      }
      // The session parses its own copy (and wipes it on refusal); ours goes to the worker later, refused
      // or not, so the ceremony's record names every refusal too (wiped with the session).
      let receipt: ReturnType<QuorumSession['add']>;
      try {
        receipt = session.quorum.add(Buffer.from(share), source);
      } catch (e) {
        if (e instanceof CeremonyError && e.exitCode !== 3 && e.code !== 'INTERNAL') session.shares.push({ source, text: share, accepted: false });
        else wipe(share);
        throw e;
      }
      session.shares.push({ source: `${source}, share of ${receipt.custodian}`, text: share, accepted: true });
      return { custodian: receipt.custodian, index: receipt.index, have: receipt.have, need: receipt.need };
    },
    renewRun: async (req, ctx) => {
      const signingPin = Buffer.from(req.signingPin, 'utf8');
      try {
        const c = needConfig();
        requireGap();
        const shares = sharesFor('renew');
        const outDir = await dialogs.openFolder('out-dir', 'Choose where to write the new certificate and transition statement');
        if (!outDir) throw new CeremonyError('CANCELLED', 'no output folder was chosen; nothing was changed');
        let id = '';
        const job = worker.run(
          'renew.run',
          { configFile: c.file, sessionId: session!.sessionId!, shares, signingPin, outDir, recordDir: recordDir(c), allowNetwork: overridden },
          relay(ctx, () => id),
        );
        id = job.id;
        const { shareFiles, ...outcome } = await job.result;
        handOut = new Map(shareFiles.map((s) => [s.custodian, s]));
        lastRecord = outcome.record.folder;
        return outcome;
      } finally {
        wipe(signingPin);
        endSession();
      }
    },
    renewHandOutShare: async (req) => {
      const share = handOut?.get(req.custodian);
      if (!share) throw new CeremonyError('USAGE', `there is no new share waiting for ${req.custodian}`);
      const path = await dialogs.saveFile('save-share', `Save ${req.custodian}'s new share`, basename(share.file));
      if (!path) return null;
      const content = await core.readFile(share.file, MAX_SHARE_FILE_BYTES);
      try {
        await core.writeFileAtomic(path, content);
      } finally {
        wipe(content);
      }
      handOut!.delete(req.custodian);
      return { custodian: req.custodian, savedAs: path, encrypted: share.encrypted };
    },
    auditOpen: async () => {
      const folder = await dialogs.openFolder('record', 'Open a ceremony record folder');
      if (!folder) return null;
      audited = folder;
      artifactsDir = undefined;
      return review(folder);
    },
    auditPinCertificate: async () => {
      const file = await dialogs.openFile('pin-certificate', 'Pin the certificate that seals the records (the root certificate, .asc)');
      if (!file) return null;
      // Checked before it is kept: one OpenPGP public certificate, no secret key material.
      const view = await worker.run('certificate.read', { file }).result;
      pinned = { path: file, view: { file: basename(file), ...view } };
      return { pinned: pinned.view, review: audited ? await review(audited) : null };
    },
    auditChooseArtifacts: async () => {
      if (!audited) throw new CeremonyError('USAGE', 'open a record first');
      const folder = await dialogs.openFolder('artifacts', "Choose the folder holding the ceremony's files (inputs and outputs)");
      if (!folder) return null;
      artifactsDir = folder;
      return { folder, review: await review(audited) };
    },
    auditExport: async (req) => {
      if (!audited) throw new CeremonyError('USAGE', 'open a record first');
      const { html } = await worker.run('audit.report', auditParams(audited)).result;
      const path = await dialogs.saveFile('save-report', `Save the report as ${req.format.toUpperCase()}`, `report.${req.format}`);
      if (!path) return null;
      await core.writeFileAtomic(path, req.format === 'html' ? html : await core.printToPdf(html));
      return { savedAs: path, format: req.format };
    },
    jobCancel: async (req) => ({ cancelled: worker.cancel(req.jobId) }),
  };
}
