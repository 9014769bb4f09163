/**
 * The sign-update ceremony for release files (DESIGN §3 "Sign update", issue 4):
 *   air-gap check → pinned build-server certificates → every input verified (signature and DIGESTS)
 *   → fingerprints and SHA-256 shown for reading aloud → one HSM login → key selected and its validity
 *   checked → each file signed → each signature verified through an independent path → outputs created
 *   (each exclusively: nothing there is replaced or followed) → record sealed by the signing key.
 * If any step fails after an output was written, the seal included, every output is taken back.
 * Nothing is signed unless every input verified. Each file is read once: the verification pass also
 * computes the hash of our own signature (data ‖ our signature's fixed fields, RFC 4880 §5.2.4).
 */
import { basename, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { CeremonyError } from '../errors.js';
import { createFileExclusive } from '../files.js';
import { hashBytes } from '../crypto.js';
import { connectToken, resolveTokenIdentity } from '../hsm/connect.js';
import { PinAttempts, TokenSession } from '../hsm/token.js';
import { assertKeyUsable, findPrivateKey } from '../hsm/keys.js';
import { formatPkcs11Uri, type Pkcs11Uri } from '../hsm/uri.js';
import { TokenKeySigner } from '../hsm/token-signer.js';
import { loadTrustedCertificates } from '../openpgp/verify/certificate.js';
import { verifyReleaseFiles, type FileVerification } from '../release/verify-release.js';
import { prepareDetachedSignature } from '../openpgp/build/detached.js';
import { verifyDetachedSignature } from '../openpgp/build/self-check.js';
import { certificateKeys, exportCertificate } from '../openpgp/build/certificate.js';
import { toOpenpgpTime } from '../openpgp/build/packets.js';
import type { OpenpgpTokenKey } from '../openpgp/hsm-store.js';
import type { SealedRecord } from '../audit/record.js';
import { CeremonyRun, withCeremony, type CeremonyContext } from './runner.js';
import { hsmSealer } from './seal-key.js';
import { selectPayloadSigners, signPayloadStep } from './payload-steps.js';
import type { OpenPayloadSource } from '../payload/format.js';
import { formatExpiry } from '../read-aloud.js';
import type { SigningPlan } from './signing-plan.js';
import type { BuilderRule } from '../release/builders.js';
import { recordAgreement, recordProvenance } from './agreement-steps.js';
import { checkRequest, chooseKeys, keepOutputs, releaseSessions, sealerForRefusal, startCeremony, takeBackOutputs } from './sign-update-state.js';
import { DeferredSigner } from './deferred-signer.js';
import type { ProvenancePolicy } from '../provenance/policy.js';
import { DAY_MS, endOfDay } from '../dates.js';

export interface SignUpdateOptions extends CeremonyContext {
  files: string[];
  trustedKeys: string[];
  /** Certificates of designated revokers the pinned ones name (checked for revocations only). */
  revokerKeys?: string[];
  key: Pkcs11Uri;
  outDir: string;
  armor: boolean;
  signature?: string;
  digests?: string;
  /** Warn when the signing key expires within this many days (the renewal window). */
  renewWindowDays?: number;
  /**
   * Update payloads (CrAU) signed in the same ceremony with `payloadKeys` (the last makes the version-2
   * signature), written as OUT_DIR/NAME.signed: verified with the release files, all or nothing, one record.
   */
  payloads?: string[];
  payloadKeys?: Pkcs11Uri[];
  /** How payloads are opened for signing (default: the file); tests inject a source that changes between reads. */
  openPayloadInput?: OpenPayloadSource;
  /** Independent builders that must agree on every input (issue 15, release/agreement.ts). */
  builders?: BuilderRule;
  /** The provenance policy every input must meet (issue 15, provenance/check.ts). */
  provenance?: ProvenancePolicy;
}

export interface SignedPayload {
  input: string;
  output: string;
  inputSha256: string;
  inputSize: number;
  outputSha256: string;
  outputSize: number;
  signedHash: string;
}

export interface SignedFile {
  input: string;
  output: string;
  sha256: string;
  sha512: string;
  signatureSha256: string;
}

export interface SignUpdateResult {
  verified: FileVerification[];
  signed: SignedFile[];
  payloads: SignedPayload[];
  key: { uri: string; fingerprint: string; primaryFingerprint: string };
  record: SealedRecord;
}


export async function runSignUpdate(o: SignUpdateOptions): Promise<SignUpdateResult> {
  const request = checkRequest(o);
  const keys = await chooseKeys(o);
  const s = await startCeremony(o, request, keys);
  const { run, attempts, written, payloadSessions } = s;
  const { payloads, outputs, payloadOutputs } = request;
  const { entry: keyEntry, sealEntry, primary: primaryOfKey, pinSource } = keys;
  const builderSet = s.builders;
  try {
    const { value, sealed } = await withCeremony(
      run,
      async () => {
        const trusted = await run.step('load-trusted-keys', 'loading the pinned build server certificates', () => loadTrustedCertificates(o.trustedKeys, o.now(), o.revokerKeys), (certs) => ({
          detail: `pinned ${certs.map((c) => `${c.description.fingerprint} (${c.description.userIDs[0] ?? 'no user ID'})`).join(', ')}`.slice(0, 500),
        }));
        for (const c of trusted) run.record.addKey(`trusted-${c.description.fingerprint.slice(-16)}`, c.key.armor());
        for (const b of builderSet?.builders ?? []) for (const c of b.trusted) run.record.addKey(`builder-${b.name}-${c.description.fingerprint.slice(-16)}`, c.key.armor());

        // Our signature's fixed fields are known before any file is read, so the verification pass
        // hashes data ‖ those fields too: one read per file serves both.
        const created = toOpenpgpTime(o.now());
        const placeholderSigner = new DeferredSigner(keyEntry);
        const prepared = prepareDetachedSignature({ signer: placeholderSigner, key: keyEntry.openpgp, created, armor: o.armor });

        const verified = await run.step('verify-input', `verifying ${o.files.length} file(s) against the build server's signatures and DIGESTS`, () =>
          verifyReleaseFiles([...o.files, ...payloads], {
            trusted,
            signature: o.signature,
            digests: o.digests,
            now: o.now(),
            extraTrailers: [{ algorithm: prepared.hash, trailer: prepared.suffix }],
            onProgress: (file, n, total) => o.reporter.progress?.(`verifying ${basename(file)}`, n, total),
            builders: builderSet,
            provenance: o.provenance,
          }),
        (results) => ({
          detail: `${results.filter((r) => r.status === 'VERIFIED').length} of ${results.length} file(s) verified`,
          inputs: results.filter((r) => r.sha256).map((r) => ({ name: basename(r.file), sha256: r.sha256!, size: r.size ?? undefined })),
        }));
        recordAgreement(run, verified);
        recordProvenance(run, verified);
        const refused = verified.filter((r) => r.status !== 'VERIFIED');
        for (const r of verified) {
          if (r.status !== 'VERIFIED') {
            run.note('verify-input', { result: 'refused', code: r.code ?? 'REJECTED', detail: `${basename(r.file)}: ${r.reason ?? 'rejected'}`.slice(0, 500) });
          }
        }
        if (refused.length > 0) {
          const first = refused[0]!;
          const err = new CeremonyError(first.code ?? 'REJECTED', `${refused.length} of ${verified.length} input(s) failed verification, so nothing was signed; first: ${basename(first.file)}: ${first.reason}`, { details: { rejected: refused.map((r) => ({ file: r.file, code: r.code, reason: r.reason })) } });
          run.failed('verify-input', err);
          throw err;
        }
        run.note('show-fingerprints', {
          detail: verified.map((r) => `${basename(r.file)} sha256 ${r.sha256} signed by ${r.signature?.keyFingerprint}`).join('; ').slice(0, 500),
          inputs: verified.map((r) => ({ name: basename(r.file), sha256: r.sha256!, size: r.size ?? undefined })),
        });

        await run.confirmPlan(signingPlan(o, keyEntry, primaryOfKey, verified), o);

        const ts = s.session = await run.step('hsm-login', `logging in to token '${o.key.token ?? ''}'`, () =>
          connectToken(o.key, { module: o.module, pinSource, env: o.env, stdin: o.stdin, attempts, login: true, events: { warn: (m) => o.reporter.warn(m), attempt: (ok, d) => { if (!ok) run.note('hsm-login', { result: 'refused', code: 'PIN_INCORRECT', detail: `wrong PIN for token '${d.token}'` }); } } }),
        (s) => `logged in to '${s.info.label}'`);

        const key = await run.step('select-key', 'selecting the signing key and checking its validity window', () => {
          const k = findPrivateKey(ts!, { ...o.key, object: keyEntry.key.label, id: keyEntry.key.id });
          assertKeyUsable(k, o.now(), (m) => o.reporter.warn(m));
          if (keyEntry.expires && keyEntry.expires.getTime() - o.now().getTime() < (o.renewWindowDays ?? 60) * DAY_MS) {
            o.reporter.warn(`the signing key ${formatExpiry(keyEntry.expires)}: its renewal ceremony is due`);
          }
          return k;
        }, (k) => ({
          detail: `key '${k.label}' (OpenPGP ${keyEntry.openpgp.role} ${keyEntry.openpgp.fingerprint}) is inside its validity window`,
          key: { uri: k.uri, fingerprint: keyEntry.openpgp.fingerprint, label: k.label, ...(k.startDate ? { validFrom: k.startDate.toISOString() } : {}), ...(keyEntry.expires ? { validUntil: keyEntry.expires.toISOString() } : k.endDate ? { validUntil: endOfDay(k.endDate).toISOString() } : {}) },
        }));
        placeholderSigner.bind(new TokenKeySigner(ts!, key, o.now, (m) => o.reporter.warn(m)));
        s.sealer = await hsmSealer(ts!, sealEntry, o.now);

        const signed: { input: FileVerification; output: string; bytes: Uint8Array | string; binary: Uint8Array }[] = [];
        const releaseResults = verified.slice(0, o.files.length);
        for (const [i, r] of releaseResults.entries()) {
          const digest = r.trailed?.[0];
          if (!digest) throw new CeremonyError('INTERNAL', `the verification pass did not hash ${r.file} for signing`);
          const sig = await run.step('sign', `signing ${basename(r.file)}`, () => {
            // Same key, same time: the same fields the verification pass hashed (checked, not assumed).
            const again = prepareDetachedSignature({ signer: placeholderSigner, key: keyEntry.openpgp, created, armor: o.armor });
            if (!again.suffix.equals(prepared.suffix)) throw new CeremonyError('INTERNAL', 'the signature fields changed between hashing and signing');
            return again.finish(digest);
          }, (s) => ({
            detail: `${basename(r.file)} signed by ${keyEntry.openpgp.fingerprint} (${s.hash.toUpperCase()})`,
            inputs: [{ name: basename(r.file), sha256: r.sha256!, size: r.size ?? undefined }],
            key: { uri: key.uri, fingerprint: keyEntry.openpgp.fingerprint },
          }));
          await run.step('self-check', `checking the signature of ${basename(r.file)} with the exported certificate`, () =>
            verifyDetachedSignature({ certificate: keyEntry.certificate, signature: sig.binary, content: { signedDigest: digest, algorithm: sig.hash }, date: o.now() }),
          (c) => `${basename(r.file)}: signature verifies with ${c.fingerprint} from the exported certificate (openpgp.js)`);
          signed.push({ input: r, output: outputs[i]!, bytes: sig.output, binary: sig.binary });
        }

        // Payloads: signed (each written atomically) after every release signature checked out; if
        // anything fails from here on, the payloads already written are taken back (all or nothing).
        const payloadResults = await signPayloads(run, o, verified.slice(o.files.length), payloadOutputs, ts!, attempts, written, payloadSessions);

        const signatures = await run.step('write-output', `writing ${signed.length} signature(s) to ${o.outDir}`, () => {
          mkdirSync(o.outDir, { recursive: true });
          const done: SignedFile[] = [];
          for (const s of signed) {
            createFileExclusive(s.output, s.bytes);
            written.push(s.output);
            done.push({ input: s.input.file, output: s.output, sha256: s.input.sha256!, sha512: s.input.sha512!, signatureSha256: hashBytes('sha256', typeof s.bytes === 'string' ? Buffer.from(s.bytes) : s.bytes).toString('hex') });
          }
          return done;
        }, (done) => ({ detail: `${done.length} signature(s) written`, outputs: done.map((d) => ({ name: basename(d.output), sha256: d.signatureSha256 })) }));
        for (const [i, s] of signatures.entries()) {
          // Hashes from the verification pass and of the bytes just written: no file is read again.
          run.record.addArtifactWithHash(s.input, 'input', { name: basename(s.input), sha256: s.sha256, size: releaseResults[i]!.size! });
          run.record.addArtifactWithHash(s.output, 'output', { name: basename(s.output), sha256: s.signatureSha256, size: byteLength(signed[i]!.bytes) });
        }
        run.record.addKey(`signing-${keyEntry.openpgp.keyId}`, exportCertificate(keyEntry.certificate, 'armored'));
        const primaryFingerprint = (await certificateKeys(keyEntry.certificate)).find((k) => k.role === 'primary')!.fingerprint;
        for (const p of payloadResults) {
          run.record.addArtifactWithHash(p.input, 'input', { name: basename(p.input), sha256: p.inputSha256, size: p.inputSize });
          run.record.addArtifactWithHash(p.output, 'output', { name: basename(p.output), sha256: p.outputSha256, size: p.outputSize });
        }
        return { verified, signed: signatures, payloads: payloadResults, key: { uri: key.uri, fingerprint: keyEntry.openpgp.fingerprint, primaryFingerprint } };
      },
      () => s.sealer,
      () => sealerForRefusal(s),
    );
    keepOutputs(s);
    return { ...value, record: sealed };
  } catch (e) {
    takeBackOutputs(s);
    throw e;
  } finally {
    releaseSessions(s);
  }
}

export function resolveFiles(cwd: string, files: string[]): string[] {
  return files.map((f) => resolve(cwd, f));
}

/** What the operator confirms before the login: the signing key (and payload keys) and every verified input. */
function signingPlan(o: SignUpdateOptions, entry: OpenpgpTokenKey, primary: string | undefined, verified: FileVerification[]): SigningPlan {
  const n = verified.length;
  return {
    action: `sign ${n} ${n === 1 ? 'file' : 'files'}`,
    count: n,
    key: [
      {
        label: entry.key.label,
        uri: entry.key.uri,
        fingerprint: entry.openpgp.fingerprint,
        ...(primary ? { primaryFingerprint: primary } : {}),
        role: entry.openpgp.role === 'subkey' ? 'OpenPGP signing subkey' : 'OpenPGP signing key',
        ...(entry.key.startDate ? { validFrom: entry.key.startDate } : {}),
        ...(entry.expires ? { validUntil: entry.expires } : entry.key.endDate ? { validUntil: endOfDay(entry.key.endDate) } : {}),
      },
      ...(o.payloads?.length ? (o.payloadKeys ?? []).map((k) => ({ label: k.object ?? '(by id)', uri: formatPkcs11Uri({ ...k, pinSource: undefined }), role: 'update payload key (RSA)' })) : []),
    ],
    inputs: verified.map((r) => ({ name: basename(r.file), sha256: r.sha256!, ...(r.size !== undefined && r.size !== null ? { size: r.size } : {}) })),
  };
}

function byteLength(b: Uint8Array | string): number {
  return typeof b === 'string' ? Buffer.byteLength(b) : b.length;
}

/**
 * Sign each verified payload with the payload keys (payload-steps.ts); the signing token's session is
 * reused for payload keys on the same token.
 */
async function signPayloads(
  run: CeremonyRun,
  o: SignUpdateOptions,
  verified: FileVerification[],
  outputs: string[],
  signingSession: TokenSession,
  attempts: PinAttempts,
  committed: string[],
  /** Sessions opened here on other tokens; the caller closes them. */
  extraSessions: Map<string, TokenSession>,
): Promise<SignedPayload[]> {
  if (verified.length === 0) return [];
  const sessions = new Map<string, TokenSession>([[resolveTokenIdentity(o.key, o), signingSession], ...extraSessions]);
  const signers = await selectPayloadSigners(run, o, o.payloadKeys ?? [], sessions, attempts);
  for (const [id, s] of sessions) if (s !== signingSession) extraSessions.set(id, s);
  mkdirSync(o.outDir, { recursive: true });
  const out: SignedPayload[] = [];
  for (const [i, v] of verified.entries()) {
    const output = outputs[i]!;
    const r = await signPayloadStep(run, o, { input: v.file, output, verifiedSha256: Buffer.from(v.sha256!, 'hex'), openInput: o.openPayloadInput }, signers, (path) => committed.push(path));
    out.push({ input: v.file, output, inputSha256: r.inputSha256.toString('hex'), inputSize: v.size!, outputSha256: r.outputSha256.toString('hex'), outputSize: r.size, signedHash: r.signedHash.toString('hex') });
  }
  return out;
}
