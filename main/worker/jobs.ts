/**
 * The jobs the ceremony worker runs: the one place where the app reaches the ceremony core. Each job is a
 * thin adapter from the worker protocol to a core function; the work itself (verifying, signing, quorum,
 * review) lives in ceremony/ and is the same code the CLI runs.

 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { CeremonyError } from '../../ceremony/errors.js';
import { loadTrustedCertificates } from '../../ceremony/openpgp/verify/certificate.js';
import { verifyReleaseFiles } from '../../ceremony/release/verify-release.js';
import { previewRenewalOnToken } from '../../ceremony/ceremonies/renewal-preview.js';
import { classify, headOf, listInbox, splitInbox, supportingFilesOf } from '../../ceremony/release/inbox.js';
import { newestSigningKeyOnToken, payloadKeysOnToken } from '../../ceremony/ceremonies/token-keys.js';
import { BACKUP_STALE_AFTER_RENEWAL, runRenew } from '../../ceremony/ceremonies/renew.js';
import { runSignUpdate } from '../../ceremony/ceremonies/sign-update.js';
import type { OptionEntry } from '../../ceremony/audit/events.js';
import { parsePkcs11Uri } from '../../ceremony/hsm/uri.js';
import type { SigningPlan } from '../../ceremony/ceremonies/signing-plan.js';
import { loadConfig } from '../../ceremony/config.js';
import { releaseRulesFromConfig, revokerKeysFromConfig, signRulesFromConfig } from '../../ceremony/release/config-rules.js';
import type { OutputView, RecordRef } from '../ipc-contract.js';
import { auditReport, auditReview, readPinnedCertificate } from './audit-jobs.js';
import { toInboxFile } from './inbox-view.js';
import { BACKUP_JOBS } from './backup-jobs.js';
import { reporterFor, throwIfCancelled, type HeardStep, type JobContext } from './reporter.js';
import type { JobTable } from './job.js';

export type { JobContext };

export const JOBS: JobTable = {
  // ceremony/release verifyReleaseFiles: each file against its .sig/.asc and its signed DIGESTS, one read.
  'inbox.scan': async (params, ctx) => {
    throwIfCancelled(ctx.signal);
    const { main, supporting } = await listInbox(params.folder);
    if (main.length === 0) throw new CeremonyError('USAGE', `the inbox folder ${params.folder} holds no file to sign`);
    const now = new Date();
    const config = params.configFile ? loadConfig(params.configFile) : undefined;
    const trusted = await loadTrustedCertificates(params.trustedKeys, now, revokerKeysFromConfig(params.configFile));
    const paths = main.map((n) => join(params.folder, n));
    let done = 0;
    const results = await verifyReleaseFiles(paths, {
      trusted,
      now,
      ...(await releaseRulesFromConfig(params.configFile, now)),
      onProgress: (file, read, total) => {
        // Thrown inside the core's per-file pass, a cancel rejects the file at hand and each file after
        // at its first chunk; the check after the pass turns that into the job's CANCELLED.
        throwIfCancelled(ctx.signal);
        ctx.progress('verify-input', `verifying ${basename(file)}`, done + (total ? read / total : 1), main.length);
        if (read === total) done++;
      },
    });
    throwIfCancelled(ctx.signal);
    ctx.progress('verify-input', 'verified every file', main.length, main.length);
    const kinds = await Promise.all(paths.map(async (p) => classify(basename(p), await headOf(p))));
    return {
      folder: params.folder,
      files: results.map((v, i) => toInboxFile(v, main[i]!, kinds[i]!)),
      ...(({ used, unused }) => ({ supporting: used, unused }))(supportingFilesOf(params.folder, main, supporting, config?.builders?.members.map((m) => m.name) ?? [], config?.provenance !== undefined)),
      signingKey: await newestSigningKeyOnToken(params.signingKeyUri, params.module, process.env, now),
      payloadKeys: kinds.includes('payload') ? await payloadKeysOnToken(params.signingKeyUri, params.module, process.env, now) : [],
    };
  },
  // Every file of the inbox, listed again here (never a subset chosen by the renderer), or nothing
  // (DESIGN §3, issue 4), in one ceremony, ceremony/ceremonies/sign-update.ts runSignUpdate: detached OpenPGP
  // signatures of the release files, and the CrAU payloads signed by the same ceremony (payload-steps.ts
  // signPayloadStep: the payload key's signature inserted into the payload). The core re-verifies its own
  // inputs and records any refusal.
  'sign.run': async (params, ctx) => {
    const env: NodeJS.ProcessEnv = { ...process.env, CEREMONY_PIN: Buffer.from(params.pin).toString('utf8') };
    try {
      throwIfCancelled(ctx.signal);
      const { main } = await listInbox(params.folder);
      if (main.length === 0) throw new CeremonyError('USAGE', `the inbox folder ${params.folder} holds no file to sign`);
      // Nothing the maintainer has not seen verified and read aloud is signed: a file added or taken
      // away since the scan means the inbox must be chosen again.
      const seen = new Set(params.scanned);
      if (main.length !== seen.size || main.some((x) => !seen.has(x))) {
        throw new CeremonyError('USAGE', 'the inbox folder changed since it was verified; choose the inbox folder again');
      }
      const { releases, payloads } = await splitInbox(params.folder, main);
      const all = main.map((n) => join(params.folder, n));
      const payloadOut = (n: string) => join(params.outDir, `${n}.signed`);
      if (params.payloadKeyUri) {
        for (const n of payloads) if (existsSync(payloadOut(n))) throw new CeremonyError('OUTPUT_EXISTS', `${payloadOut(n)} already exists; a ceremony never overwrites a signed payload`);
      }
      const common = {
        trustedKeys: params.trustedKeys,
        recordDir: params.recordDir,
        allowNetwork: params.allowNetwork,
        attended: true,
        // The core's 'confirm' step (before any login): the person confirmed this plan on the app's
        // screen; it holds only if the core's plan signs with the key that screen showed.
        confirmSigning: async (plan: SigningPlan) => plan.key.some((k) => k.fingerprint?.toUpperCase() === params.confirmedKey),
        ...(params.module ? { module: params.module } : {}),
        env,
        now: () => new Date(),
      };
      // The config's designated revokers (signRulesFromConfig gives them to runSignUpdate), recorded as the CLI records --revoker-key.
      const revokers = revokerKeysFromConfig(params.configFile);
      const recorded = (extra: OptionEntry[]): OptionEntry[] => [
        { name: 'trusted-key', value: params.trustedKeys },
        ...(revokers.length > 0 ? [{ name: 'revoker-key' as const, value: revokers }] : []),
        ...extra,
        { name: 'record-dir', value: params.recordDir },
        ...(params.allowNetwork ? [{ name: 'allow-network' as const, value: true }] : []),
      ];

      // One ceremony, one record: release files and payloads are verified together and nothing is signed
      // unless every input verifies (runSignUpdate signs the payloads with the payload key, all or nothing).
      // Without a payload key the payloads are still verified, as inputs of the same ceremony, but the
      // ceremony is refused if any fails; they are then left unsigned, with a note.
      const records: RecordRef[] = [];
      const outputs: OutputView[] = [];
      const skipped: { name: string; reason: string }[] = [];
      let payloadsFailed = false;
      if (payloads.length > 0 && !params.payloadKeyUri) {
        const trusted = await loadTrustedCertificates(params.trustedKeys, new Date(), revokers);
        const checked = await verifyReleaseFiles(payloads.map((n) => join(params.folder, n)), { trusted, now: new Date(), onProgress: () => throwIfCancelled(ctx.signal) });
        payloadsFailed = checked.some((v) => v.status !== 'VERIFIED');
        if (!payloadsFailed) for (const n of payloads) skipped.push({ name: n, reason: 'the signing token holds no RSA-2048 payload key, so this update payload was not signed' });
      }
      const withPayloads = Boolean(params.payloadKeyUri) && payloads.length > 0;
      const releaseInputs = payloadsFailed ? all : releases.map((n) => join(params.folder, n));
      let key: { uri: string; label: string; fingerprint: string } | undefined;
      if (releaseInputs.length > 0 || withPayloads) {
        const r = await runSignUpdate({
          ...common,
          ...(params.configFile ? signRulesFromConfig(params.configFile) : {}),
          files: releaseInputs,
          ...(withPayloads ? { payloads: payloads.map((n) => join(params.folder, n)), payloadKeys: [parsePkcs11Uri(params.payloadKeyUri!)] } : {}),
          key: parsePkcs11Uri(params.signingKeyUri),
          outDir: params.outDir,
          armor: false,
          reporter: reporterFor(ctx),
          recordedOptions: recorded([
            { name: 'key', value: params.signingKeyUri },
            { name: 'out-dir', value: params.outDir },
            ...(withPayloads ? [{ name: 'payload-key' as const, value: [params.payloadKeyUri!] }] : []),
          ]),
        });
        if (payloadsFailed) throw new CeremonyError('INTERNAL', 'a payload failed verification before signing and passed after: the inbox changed during the ceremony');
        key = { uri: r.key.uri, label: parsePkcs11Uri(r.key.uri).object ?? r.key.uri, fingerprint: r.key.fingerprint };
        records.push({ id: r.record.ceremonyId, folder: r.record.dir });
        outputs.push(...r.signed.map((s) => ({ name: basename(s.output), path: s.output, sha256: s.signatureSha256, selfCheck: 'OK' as const })));
        outputs.push(...r.payloads.map((p) => ({ name: basename(p.output), path: p.output, sha256: p.outputSha256, selfCheck: 'OK' as const })));
      }
      if (records.length === 0) {
        throw new CeremonyError('KEY_NOT_FOUND', 'the inbox holds only update payloads and the signing token has no payload key: nothing was signed');
      }
      return { key: key!, outputs, record: records[0]!, records, skipped };
    } finally {
      delete env.CEREMONY_PIN;
    }
  },
  // What is in force, from the root token's public objects (no login), and the session ID over the
  // renewal's parameters: the core's previewRenewal, the same code runRenew starts with; the renewal
  // itself re-checks the ID the custodians confirmed (expectSessionId).
  'renew.open': async (params, ctx) => {
    ctx.progress('quorum-session', 'reading the quorum set and certificate in force', 0, 1);
    const config = loadConfig(params.configFile);
    const { inForce, status, window, newCustodians: custodians, sessionId: id } = await previewRenewalOnToken(config, new Date(), process.env);
    ctx.progress('quorum-session', 'session ID computed', 1, 1);
    return {
      view: {
        sessionId: id.display,
        sessionWords: id.words,
        threshold: inForce.threshold,
        custodians: inForce.custodians,
        newThreshold: config.quorum.threshold,
        newCustodians: custodians,
        currentFingerprint: status.primary.fingerprint,
        newValidity: { from: window.validFrom.toISOString(), to: window.validUntil.toISOString() },
      },
      expected: inForce,
    };
  },
  // ceremony/ceremonies/renew.ts runRenew: the whole renewal, re-checking the session ID the custodians
  // confirmed in the app (expectSessionId) and every share against the set on the root token.
  'renew.run': async (params, ctx) => {
    const config = loadConfig(params.configFile);
    // The signing-token PIN reaches the core through the env object of THIS call (an in-memory object,
    // never process.env nor a child's environment): the only PIN source RenewOptions offers besides
    // a file or a terminal.
    const env: NodeJS.ProcessEnv = { ...process.env, CEREMONY_PIN: Buffer.from(params.signingPin).toString('utf8') };
    const heard: HeardStep[] = [];
    try {
      const r = await runRenew({
        config,
        outDir: params.outDir,
        recordDir: params.recordDir,
        allowNetwork: params.allowNetwork,
        attended: true,
        env,
        reporter: reporterFor(ctx, heard),
        now: () => new Date(),
        recordedOptions: [
          { name: 'config', value: params.configFile },
          { name: 'out', value: params.outDir },
          { name: 'record-dir', value: params.recordDir },
          ...(params.allowNetwork ? [{ name: 'allow-network' as const, value: true }] : []),
        ],
        shares: params.shares.map((s) => ({ source: s.source, text: Buffer.from(s.text) })),
        expectSessionId: params.sessionId,
      });
      return {
        newSubkeyFingerprint: r.subkeyFingerprint,
        certificateFingerprint: r.rootFingerprint,
        newShares: r.shares.map((s) => ({ custodian: s.custodian })),
        shareFiles: r.shares.map((s) => ({ custodian: s.custodian, file: resolve(params.outDir, s.file), encrypted: s.encrypted })),
        record: { id: r.record.ceremonyId, folder: r.record.dir },
        // Issue 11: the warning the CLI prints at the end of every renewal, relayed as the core said it.
        backupStale: heard.find((h) => h.state === 'warning' && h.detail === BACKUP_STALE_AFTER_RENEWAL)?.detail ?? null,
      };
    } finally {
      delete env.CEREMONY_PIN;
    }
  },
  ...BACKUP_JOBS,
  // ceremony/audit reviewRecord / renderReport: the auditor's checks and the self-contained HTML report.
  'audit.review': async (params, ctx) => {
    ctx.progress('verify-input', 'checking the record', 0, 1);
    return auditReview(params);
  },
  'audit.report': async (params) => auditReport(params),
  'certificate.read': async (params) => (await readPinnedCertificate(params.file)).view,
};
