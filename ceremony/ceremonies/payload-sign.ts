/**
 * The sign-update ceremony for an update payload (DESIGN §3, issue 4): air-gap check → (with
 * --trusted-key) the payload's server signature and DIGESTS verified → one login per token → keys
 * selected and their validity checked → the payload signed in one streaming pass (byte-identical to
 * delta_generator), only if it still has the verified SHA-256 → every signature checked again with
 * update_engine's rule and the exported public keys → record sealed by an OpenPGP key of the token.
 */
import { basename } from 'node:path';
import { existsSync, rmSync, statSync } from 'node:fs';
import { CeremonyError } from '../errors.js';
import { connectToken } from '../hsm/connect.js';
import { openModule, resolveModulePath } from '../hsm/module.js';
import { assertKeyUsable, findPrivateKey, publicKeyOf } from '../hsm/keys.js';
import { PinAttempts, TokenSession } from '../hsm/token.js';
import { TokenKeySigner } from '../hsm/token-signer.js';
import type { Pkcs11Uri } from '../hsm/uri.js';
import { loadTrustedCertificates } from '../openpgp/verify/certificate.js';
import { verifyReleaseFiles } from '../release/verify-release.js';
import { signPayload, verifyPayload, type SignPayloadResult } from '../payload/index.js';
import type { SealedRecord } from '../audit/record.js';
import type { OpenpgpTokenKey } from '../openpgp/hsm-store.js';
import { CeremonyRun, withCeremony, type CeremonyContext } from './runner.js';
import { chooseSealKey, hsmSealer } from './seal-key.js';
import { spkiFingerprint } from './sign-update.js';

export interface PayloadSignOptions extends CeremonyContext {
  input: string;
  output: string;
  /** In signature order: the last key makes the version-2 signature update_engine checks. */
  keys: Pkcs11Uri[];
  trustedKeys?: string[];
  overwrite?: boolean;
  signal?: AbortSignal;
}

export interface PayloadSignCeremonyResult {
  payload: SignPayloadResult;
  record: SealedRecord;
}

/** Keys on the same token share one session and one login (one PIN entry for many keys). */
function tokenIdentity(uri: Pkcs11Uri): string {
  return JSON.stringify([uri.modulePath ?? '', uri.moduleName ?? '', uri.token ?? '', uri.serial ?? '', uri.slotId ?? '', uri.manufacturer ?? '', uri.model ?? '']);
}

export async function runPayloadSign(o: PayloadSignOptions): Promise<PayloadSignCeremonyResult> {
  if (o.keys.length === 0) throw new CeremonyError('USAGE', 'signing a payload needs at least one --key');
  if (!o.overwrite && existsSync(o.output)) throw new CeremonyError('OUTPUT_EXISTS', `${o.output} already exists; choose another --out (or --force)`);
  if (!existsSync(o.input)) throw new CeremonyError('INPUT_UNREADABLE', `${o.input} does not exist`);

  // The record's seal key, chosen before the ceremony starts (refused now if there is none).
  const sealUri = o.sealKey ?? o.keys[0]!;
  const mod = openModule(resolveModulePath({ uri: sealUri, flag: o.module, env: o.env }));
  const probe = TokenSession.open(mod, sealUri, false);
  let sealEntry: OpenpgpTokenKey;
  try {
    sealEntry = await chooseSealKey(probe, { sealKey: o.sealKey, now: o.now() });
  } finally {
    probe.close();
  }

  const run = CeremonyRun.start({
    ...o,
    kind: 'payload-sign',
    command: 'ceremony payload sign',
    actor: { role: 'maintainer' },
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
        if (o.trustedKeys && o.trustedKeys.length > 0) {
          const trusted = await run.step('load-trusted-keys', 'loading the pinned build server certificates', () => loadTrustedCertificates(o.trustedKeys!, o.now()), (certs) =>
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
          run.note('verify-input', { result: 'warning', detail: `no --trusted-key: the server signature of ${basename(o.input)} was not checked` });
        }

        // 2. One login per token, then every key found and inside its validity window.
        const signers: TokenKeySigner[] = [];
        for (const uri of o.keys) {
          const id = tokenIdentity(uri);
          let ts = sessions.get(id);
          if (!ts) {
            ts = await run.step('hsm-login', `logging in to token '${uri.token ?? ''}'`, () =>
              connectToken(uri, { module: o.module, pinFile: o.pinFile, env: o.env, stdin: o.stdin, attempts, login: true, readWrite: false, events: { warn: (m) => o.reporter.warn(m) } }),
            (s) => `logged in to '${s.info.label}'`);
            sessions.set(id, ts);
          }
          const session = ts;
          const key = await run.step('select-key', `selecting ${uri.object ?? 'the key'} and checking its validity window`, () => {
            const k = findPrivateKey(session, uri);
            assertKeyUsable(k, o.now(), (m) => o.reporter.warn(m));
            return k;
          }, (k) => ({
            detail: `key '${k.label}' (RSA-${k.bits}) is inside its validity window`,
            key: { uri: k.uri, label: k.label, fingerprint: spkiFingerprint(session, k.handle), ...(k.startDate ? { validFrom: k.startDate.toISOString() } : {}), ...(k.endDate ? { validUntil: new Date(k.endDate.getTime() + 86_400_000).toISOString() } : {}) },
          }));
          signers.push(new TokenKeySigner(session, key, o.now, (m) => o.reporter.warn(m)));
        }
        const sealSession = sessions.get(tokenIdentity(sealUri));
        if (sealSession) sealer = await hsmSealer(sealSession, sealEntry, o.now);

        // 3. Sign in one streaming pass; the output is moved into place only when every signature checks.
        const result = await run.step('sign', `signing ${basename(o.input)} with ${signers.length} key(s)`, () =>
          signPayload({ input: o.input, output: o.output, signers, overwrite: o.overwrite, expectInputSha256: verifiedSha256, signal: o.signal, onProgress: (p) => o.reporter.progress?.('signing', p.bytes, p.total) }),
        (r) => ({
          detail: `signed ${basename(r.input)}: SHA-256 ${r.signedHash.toString('hex')} of bytes 0..${r.size - r.signaturesSize}, signature versions ${r.signatures.map((s) => s.version).join(', ')}`,
          inputs: [{ name: basename(r.input), sha256: r.inputSha256.toString('hex') }],
          key: { uri: signers.at(-1)!.key.uri, fingerprint: spkiFingerprint(signers.at(-1)!.session, signers.at(-1)!.key.handle) },
        }));
        written = true;

        // 4. Independent check: update_engine's rule over the written file, with the exported public keys.
        await run.step('self-check', "checking the written payload with update_engine's rule and the exported public keys", async () => {
          const exported = signers.map((s) => publicKeyOf(s.session, s.key.handle));
          // The bulk was hashed while it was written; structure and signatures are read back from the file.
          return verifyPayload(o.output, [exported.at(-1)!], { signedHash: result.signedHash });
        }, (v) => `the version-2 signature verifies over bytes 0..${v.signedBytes} (${v.reason})`);
        written = false; // checked: from here on the output stays whatever happens to the seal
        run.note('write-output', { detail: `${basename(o.output)} written`, outputs: [{ name: basename(o.output), sha256: result.outputSha256.toString('hex'), size: result.size }] });
        run.record.addArtifactWithHash(o.input, 'input', { name: basename(o.input), sha256: result.inputSha256.toString('hex'), size: statSync(o.input).size });
        run.record.addArtifactWithHash(o.output, 'output', { name: basename(o.output), sha256: result.outputSha256.toString('hex'), size: result.size });
        return result;
      },
      () => sealer,
    );
    return { payload: value, record: sealed };
  } catch (e) {
    // A payload that failed its own check after being written must not stay behind.
    if (written) rmSync(o.output, { force: true });
    throw e;
  } finally {
    for (const s of sessions.values()) s.close();
  }
}

