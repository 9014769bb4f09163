/**
 * The sign-update ceremony for an update payload (DESIGN §3, issue 4): air-gap check → the payload's
 * server signature and DIGESTS verified (--trusted-key; or, with --allow-unverified, the override
 * recorded) → one login per token → keys selected and their validity checked → the payload signed in
 * one streaming pass (byte-identical to delta_generator), only if the bytes read for signing have the
 * verified SHA-256 → every signature checked again with update_engine's rule and the exported public
 * keys → record sealed by an OpenPGP key of the token. If anything fails after the output was written,
 * the seal included, the output is taken back.
 */
import { basename } from 'node:path';
import { rmSync, statSync } from 'node:fs';
import { CeremonyError } from '../errors.js';
import type { Pkcs11Module } from '../hsm/module.js';
import { PinAttempts, TokenSession } from '../hsm/token.js';
import { formatPkcs11Uri, type Pkcs11Uri } from '../hsm/uri.js';
import { choosePinSource } from '../hsm/pin.js';
import { connectToken } from '../hsm/connect.js';
import type { PendingDraft, SignPayloadResult } from '../payload/index.js';
import type { SealedRecord } from '../audit/record.js';
import type { OpenpgpTokenKey } from '../openpgp/hsm-store.js';
import { CeremonyRun, withCeremony, type CeremonyContext } from './runner.js';
import { chooseSealKey, hsmSealer } from './seal-key.js';
import { checkPayloadsSignable, selectPayloadSigners, sessionFor, signPayloadStep, tokenIdentity } from './payload-steps.js';
import { startPayloadSign, type PayloadSignRequest, type StartedPayloadSign } from './payload-start.js';

/** The ceremony's context and what it signs (payload-start.ts). */
export type PayloadSignOptions = CeremonyContext & PayloadSignRequest;

export interface PayloadSignCeremonyResult {
  payload: SignPayloadResult;
  record: SealedRecord;
}

/**
 * The whole ceremony. `started` is its start (payload-start.ts) when the caller began it already, as the
 * CLI does before loading this module; the pass it holds is abandoned if the ceremony stops before
 * taking it.
 */
export async function runPayloadSign(o: PayloadSignOptions, started?: StartedPayloadSign): Promise<PayloadSignCeremonyResult> {
  const { mod, sealUri, pending } = started ?? startPayloadSign(o);
  try {
    return await signUnderCeremony(o, mod, sealUri, pending);
  } finally {
    await pending?.abandon();
  }
}

async function signUnderCeremony(o: PayloadSignOptions, mod: Pkcs11Module, sealUri: Pkcs11Uri, pending: PendingDraft | undefined): Promise<PayloadSignCeremonyResult> {
  const verifying = (o.trustedKeys ?? []).length > 0;
  // The record's seal key, chosen before the ceremony starts (refused now if there is none).
  const probe = TokenSession.open(mod, sealUri, false);
  let sealEntry: OpenpgpTokenKey;
  try {
    sealEntry = await chooseSealKey(probe, { sealKey: o.sealKey, now: o.now() });
  } finally {
    probe.close();
  }

  // Every key's PIN source is known before the record opens: a run that could never log in is refused now.
  for (const k of o.keys) choosePinSource({ uri: k, pinFile: o.pinFile, env: o.env, stdin: o.stdin });

  const run = CeremonyRun.start({
    ...o,
    kind: 'payload-sign',
    command: 'ceremony payload sign',
    actor: { role: 'maintainer' },
    overrides: o.allowUnverified ? ['allow-unverified'] : [],
  });
  const sessions = new Map<string, TokenSession>();
  const attempts = new PinAttempts();
  let sealer: Awaited<ReturnType<typeof hsmSealer>> | undefined;
  let written = false;
  try {
    const { value, sealed } = await withCeremony(
      run,
      async () => {
        // 1. The payload's server signature (and DIGESTS, when published beside it).
        let verifiedSha256: Buffer | undefined;
        if (verifying) {
          // Loaded only here: the release verifier brings the DIGESTS, provenance and Sigstore code,
          // which an unverified run never uses and whose loading every run's start would pay for.
          const [{ loadTrustedCertificates }, { verifyReleaseFiles }] = await Promise.all([import('../openpgp/verify/certificate.js'), import('../release/verify-release.js')]);
          const trusted = await run.step('load-trusted-keys', 'loading the pinned build server certificates', () => loadTrustedCertificates(o.trustedKeys!, o.now(), o.revokerKeys), (certs) =>
            `pinned ${certs.map((c) => c.description.fingerprint).join(', ')}`);
          for (const c of trusted) run.record.addKey(`trusted-${c.description.fingerprint.slice(-16)}`, c.key.armor());
          const [r] = await run.step('verify-input', `verifying ${basename(o.input)} against the build server's signature`, () =>
            verifyReleaseFiles([o.input], { trusted, now: o.now(), requireDigests: false, onProgress: (_f, n, t) => o.reporter.progress?.('verifying', n, t) }),
          (results) => {
            const r0 = results[0]!;
            return r0.status === 'VERIFIED'
              ? { detail: `${basename(o.input)} verified: signed by ${r0.signature?.keyFingerprint}${r0.digestsCheck ? `, DIGESTS ${r0.digestsCheck.checked.join('/')} match` : ''}`, inputs: [{ name: basename(o.input), sha256: r0.sha256!, size: r0.size ?? undefined }] }
              : { result: 'refused', code: r0.code ?? 'REJECTED', detail: `${basename(o.input)}: ${r0.reason}`.slice(0, 500) };
          });
          if (r!.status !== 'VERIFIED') {
            const err = new CeremonyError(r!.code ?? 'REJECTED', `${basename(o.input)} failed verification, so nothing was signed: ${r!.reason}`);
            run.failed('verify-input', err);
            throw err;
          }
          verifiedSha256 = Buffer.from(r!.sha256!, 'hex');
          run.note('show-fingerprints', { detail: `${basename(o.input)} sha256 ${r!.sha256} signed by ${r!.signature?.keyFingerprint}`, inputs: [{ name: basename(o.input), sha256: r!.sha256!, size: r!.size ?? undefined }] });
        } else {
          run.note('verify-input', { result: 'override', detail: `--allow-unverified: the server signature of ${basename(o.input)} was not checked` });
        }
        // Verified or not, a payload the pass would refuse is refused now, before the plan and the login.
        await checkPayloadsSignable(run, [o.input]);

        // The person confirms the keys and the input before any login (issue 13).
        await run.confirmPlan({
          action: `sign the update payload ${basename(o.input)}`,
          count: 1,
          key: o.keys.map((k) => ({ label: k.object ?? '(by id)', uri: formatPkcs11Uri({ ...k, pinSource: undefined }), role: 'update payload key (RSA)' })),
          inputs: [{ name: basename(o.input), ...(verifiedSha256 ? { sha256: verifiedSha256.toString('hex') } : {}), size: statSync(o.input).size }],
        }, o);

        // 2. One login per token, every key inside its validity window; 3. sign; 4. check the written file.
        const signers = await selectPayloadSigners(run, o, o.keys, sessions, attempts);
        // The seal key's token, found by what it is, not by how its URI is spelled (logged in if no
        // payload key is on it), so the record can be sealed before anything is written.
        sealer = await hsmSealer(await sessionFor(run, o, sealUri, sessions, attempts), sealEntry, o.now);
        const result = await signPayloadStep(run, o, { input: o.input, output: o.output, verifiedSha256, overwrite: o.overwrite, signal: o.signal, openInput: o.openInput, pending }, signers, () => (written = true));
        run.note('write-output', { detail: `${basename(o.output)} written`, outputs: [{ name: basename(o.output), sha256: result.outputSha256.toString('hex'), size: result.size }] });
        run.record.addArtifactWithHash(o.input, 'input', { name: basename(o.input), sha256: result.inputSha256.toString('hex'), size: result.inputSize });
        run.record.addArtifactWithHash(o.output, 'output', { name: basename(o.output), sha256: result.outputSha256.toString('hex'), size: result.size });
        return result;
      },
      () => sealer,
      // Refused before any login (a tampered input, an unconfirmed plan): log in only to seal the record.
      async () => {
        if (sessions.size > 0 || attempts.wrong > 0 || run.record.failedStep === 'hsm-login') return undefined;
        const ts = await connectToken(sealUri, { module: o.module, pinFile: o.pinFile, env: o.env, stdin: o.stdin, attempts, login: true, readWrite: false });
        sessions.set(tokenIdentity(sealUri, o), ts);
        return hsmSealer(ts, sealEntry, o.now);
      },
    );
    written = false; // sealed: the output is the ceremony's
    return { payload: value, record: sealed };
  } catch (e) {
    // No output without a sealed record that accounts for it: a failed self-check or seal takes it back.
    if (written) rmSync(o.output, { force: true });
    throw e;
  } finally {
    for (const s of sessions.values()) s.close();
  }
}

