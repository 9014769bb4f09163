/**
 * The steps of the sign-update ceremony inside its record (DESIGN §3 "Sign update"), in the order
 * runSignUpdate (sign-update.ts) calls them. Each works on the one SignCeremony (sign-update-state.ts):
 * it reads what the earlier steps left there and adds its own part, and the cleanup reads the same state
 * whichever step failed.
 */
import { basename } from 'node:path';
import { mkdirSync } from 'node:fs';
import { CeremonyError } from '../errors.js';
import { createFileExclusive } from '../files.js';
import { hashBytes } from '../crypto.js';
import { connectToken, resolveTokenIdentity } from '../hsm/connect.js';
import type { TokenSession } from '../hsm/token.js';
import { assertKeyUsable, findPrivateKey } from '../hsm/keys.js';
import { formatPkcs11Uri } from '../hsm/uri.js';
import { TokenKeySigner } from '../hsm/token-signer.js';
import { loadTrustedCertificates } from '../openpgp/verify/certificate.js';
import { verifyReleaseFiles, type FileVerification } from '../release/verify-release.js';
import { prepareDetachedSignature } from '../openpgp/build/detached.js';
import { verifyDetachedSignature } from '../openpgp/build/self-check.js';
import { certificateKeys, exportCertificate } from '../openpgp/build/certificate.js';
import { toOpenpgpTime } from '../openpgp/build/packets.js';
import { formatExpiry } from '../read-aloud.js';
import { DAY_MS, endOfDay } from '../dates.js';
import { hsmSealer } from './seal-key.js';
import { checkPayloadsSignable, selectPayloadSigners, signPayloadStep } from './payload-steps.js';
import { recordAgreement, recordProvenance } from './agreement-steps.js';
import type { SigningPlan } from './signing-plan.js';
import type { MadeSignature, SignCeremony, SignedFile, SignedPayload, SignUpdateResult } from './sign-update-state.js';

/** Load and pin-check the build server certificates; they, and the builders', go in the record's keys/. */
export async function loadTrustedKeys(s: SignCeremony): Promise<void> {
  const { o, run } = s;
  const trusted = await run.step('load-trusted-keys', 'loading the pinned build server certificates', () => loadTrustedCertificates(o.trustedKeys, o.now(), o.revokerKeys), (certs) => ({
    detail: `pinned ${certs.map((c) => `${c.description.fingerprint} (${c.description.userIDs[0] ?? 'no user ID'})`).join(', ')}`.slice(0, 500),
  }));
  for (const c of trusted) run.record.addKey(`trusted-${c.description.fingerprint.slice(-16)}`, c.key.armor());
  for (const b of s.builders?.builders ?? []) for (const c of b.trusted) run.record.addKey(`builder-${b.name}-${c.description.fingerprint.slice(-16)}`, c.key.armor());
  s.trusted = trusted;
}

/**
 * Our signature's fixed fields are known before any file is read, so the verification pass hashes
 * data ‖ those fields too: one read per file serves both (RFC 4880 §5.2.4).
 */
export function fixSignatureFields(s: SignCeremony): void {
  const { o, keys } = s;
  const created = toOpenpgpTime(o.now());
  // Only the key packet from the certificate is needed here; the token's key signs after the login.
  const prepared = prepareDetachedSignature({ key: keys.entry.openpgp, created, armor: o.armor });
  s.signature = { created, prepared };
}

/**
 * Every input (release files, then payloads) against the build server's signatures and DIGESTS, the
 * builders' agreement and the provenance policy, each result on record, and each payload's structure.
 * Nothing is signed unless every input verified: one refusal refuses the ceremony, naming the first.
 */
export async function verifyInputs(s: SignCeremony): Promise<void> {
  const { o, run } = s;
  const { prepared } = s.signature!;
  const verified = await run.step('verify-input', `verifying ${o.files.length} file(s) against the build server's signatures and DIGESTS`, () =>
    verifyReleaseFiles([...o.files, ...s.request.payloads], {
      trusted: s.trusted!,
      signature: o.signature,
      digests: o.digests,
      now: o.now(),
      extraTrailers: [{ algorithm: prepared.hash, trailer: prepared.suffix }],
      onProgress: (file, n, total) => o.reporter.progress?.(`verifying ${basename(file)}`, n, total),
      builders: s.builders,
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
  // A payload the signing pass would refuse stops the ceremony now, before the plan and before any
  // release file is signed (its signatures would only be taken back).
  await checkPayloadsSignable(run, s.request.payloads);
  s.verified = verified;
}

/** The fingerprints and SHA-256 values of the verified inputs, shown for reading aloud. */
export function showFingerprints(s: SignCeremony): void {
  const verified = s.verified!;
  s.run.note('show-fingerprints', {
    detail: verified.map((r) => `${basename(r.file)} sha256 ${r.sha256} signed by ${r.signature?.keyFingerprint}`).join('; ').slice(0, 500),
    inputs: verified.map((r) => ({ name: basename(r.file), sha256: r.sha256!, size: r.size ?? undefined })),
  });
}

/** The person confirms the keys and every input before any login (issue 13). */
export async function confirmSigningPlan(s: SignCeremony): Promise<void> {
  await s.run.confirmPlan(signingPlan(s), s.o);
}

/** What the operator confirms before the login: the signing key (and payload keys) and every verified input. */
function signingPlan(s: SignCeremony): SigningPlan {
  const { o } = s;
  const { entry, primary } = s.keys;
  const verified = s.verified!;
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

/** The one login to the signing token; each wrong PIN is on record. */
export async function logIn(s: SignCeremony): Promise<void> {
  const { o, run } = s;
  s.session = await run.step('hsm-login', `logging in to token '${o.key.token ?? ''}'`, () =>
    connectToken(o.key, { module: o.module, pinSource: s.keys.pinSource, env: o.env, stdin: o.stdin, attempts: s.attempts, login: true, events: { warn: (m) => o.reporter.warn(m), attempt: (ok, d) => { if (!ok) run.note('hsm-login', { result: 'refused', code: 'PIN_INCORRECT', detail: `wrong PIN for token '${d.token}'` }); } } }),
  (t) => `logged in to '${t.info.label}'`);
}

/**
 * The signing key selected and its validity window checked (with a warning once its renewal is due);
 * from then on the token makes the signature whose fields were fixed, and seals the record.
 */
export async function selectSigningKey(s: SignCeremony): Promise<void> {
  const { o, run } = s;
  const { entry, sealEntry } = s.keys;
  const ts = s.session!;
  const key = await run.step('select-key', 'selecting the signing key and checking its validity window', () => {
    const k = findPrivateKey(ts, { ...o.key, object: entry.key.label, id: entry.key.id });
    assertKeyUsable(k, o.now(), (m) => o.reporter.warn(m));
    if (entry.expires && entry.expires.getTime() - o.now().getTime() < (o.renewWindowDays ?? 60) * DAY_MS) {
      o.reporter.warn(`the signing key ${formatExpiry(entry.expires)}: its renewal ceremony is due`);
    }
    return k;
  }, (k) => ({
    detail: `key '${k.label}' (OpenPGP ${entry.openpgp.role} ${entry.openpgp.fingerprint}) is inside its validity window`,
    key: { uri: k.uri, fingerprint: entry.openpgp.fingerprint, label: k.label, ...(k.startDate ? { validFrom: k.startDate.toISOString() } : {}), ...(entry.expires ? { validUntil: entry.expires.toISOString() } : k.endDate ? { validUntil: endOfDay(k.endDate).toISOString() } : {}) },
  }));
  s.key = key;
  // The selection warned of the key already; the signer's own check at each signature only refuses.
  s.signer = new TokenKeySigner(ts, key, o.now);
  s.sealer = await hsmSealer(ts, sealEntry, o.now);
}

/**
 * Each release file signed from the hash of its verification pass, and each signature checked through an
 * independent path (openpgp.js and the exported certificate). Nothing is written yet.
 */
export async function signReleaseFiles(s: SignCeremony): Promise<void> {
  const made: MadeSignature[] = [];
  const releaseResults = s.verified!.slice(0, s.o.files.length);
  for (const [i, r] of releaseResults.entries()) made.push(await signReleaseFile(s, r, s.request.outputs[i]!));
  s.made = made;
}

async function signReleaseFile(s: SignCeremony, r: FileVerification, output: string): Promise<MadeSignature> {
  const { o, run } = s;
  const { entry } = s.keys;
  const { prepared } = s.signature!;
  const key = s.key!;
  const signer = s.signer!;
  const digest = r.trailed?.[0];
  if (!digest) throw new CeremonyError('INTERNAL', `the verification pass did not hash ${r.file} for signing`);
  // The fields the verification pass hashed; finish checks the token's key is the certificate's key.
  const sig = await run.step('sign', `signing ${basename(r.file)}`, () => prepared.finish(digest, signer), (d) => ({
    detail: `${basename(r.file)} signed by ${entry.openpgp.fingerprint} (${d.hash.toUpperCase()})`,
    inputs: [{ name: basename(r.file), sha256: r.sha256!, size: r.size ?? undefined }],
    key: { uri: key.uri, fingerprint: entry.openpgp.fingerprint },
  }));
  await run.step('self-check', `checking the signature of ${basename(r.file)} with the exported certificate`, () =>
    verifyDetachedSignature({ certificate: entry.certificate, signature: sig.binary, content: { signedDigest: digest, algorithm: sig.hash }, date: o.now() }),
  (c) => `${basename(r.file)}: signature verifies with ${c.fingerprint} from the exported certificate (openpgp.js)`);
  return { input: r, output, bytes: sig.output, binary: sig.binary };
}

/**
 * Payloads: signed (each written atomically) after every release signature checked out, with the payload
 * keys (payload-steps.ts); the signing token's session is reused for payload keys on the same token.
 * Each payload written is in `written` at once: if anything fails from here on, the seal included, it is
 * taken back (all or nothing).
 */
export async function signPayloads(s: SignCeremony): Promise<void> {
  const { o, run } = s;
  const verified = s.verified!.slice(o.files.length);
  if (verified.length === 0) {
    s.payloads = [];
    return;
  }
  const signingSession = s.session!;
  const sessions = new Map<string, TokenSession>([[resolveTokenIdentity(o.key, o), signingSession], ...s.payloadSessions]);
  let signers: TokenKeySigner[];
  try {
    signers = await selectPayloadSigners(run, o, o.payloadKeys ?? [], sessions, s.attempts);
  } finally {
    // Handed to the cleanup even when a later payload key's login or selection fails: a session left
    // open here would keep its token logged in for the rest of the process (the app's worker lives on).
    for (const [id, t] of sessions) if (t !== signingSession) s.payloadSessions.set(id, t);
  }
  mkdirSync(o.outDir, { recursive: true });
  const out: SignedPayload[] = [];
  for (const [i, v] of verified.entries()) {
    const output = s.request.payloadOutputs[i]!;
    const r = await signPayloadStep(run, o, { input: v.file, output, verifiedSha256: Buffer.from(v.sha256!, 'hex'), openInput: o.openPayloadInput }, signers, (path) => s.written.push(path));
    out.push({ input: v.file, output, inputSha256: r.inputSha256.toString('hex'), inputSize: v.size!, outputSha256: r.outputSha256.toString('hex'), outputSize: r.size, signedHash: r.signedHash.toString('hex') });
  }
  s.payloads = out;
}

/**
 * The release signatures written, each created exclusively (nothing there is replaced or followed), each
 * in `written` as soon as it is in place so a later failure takes it back.
 */
export async function writeSignatures(s: SignCeremony): Promise<void> {
  const { o, run } = s;
  const made = s.made!;
  s.signatures = await run.step('write-output', `writing ${made.length} signature(s) to ${o.outDir}`, () => {
    mkdirSync(o.outDir, { recursive: true });
    const done: SignedFile[] = [];
    for (const m of made) {
      createFileExclusive(m.output, m.bytes);
      s.written.push(m.output);
      done.push({ input: m.input.file, output: m.output, sha256: m.input.sha256!, sha512: m.input.sha512!, signatureSha256: hashBytes('sha256', typeof m.bytes === 'string' ? Buffer.from(m.bytes) : m.bytes).toString('hex') });
    }
    return done;
  }, (done) => ({ detail: `${done.length} signature(s) written`, outputs: done.map((d) => ({ name: basename(d.output), sha256: d.signatureSha256 })) }));
}

/**
 * The record's manifest and keys/: every input and output with its hash, and the signing certificate.
 * The hashes are those of the verification pass and of the bytes just written: no file is read again.
 * What the ceremony returns once the record is sealed.
 */
export async function recordOutputs(s: SignCeremony): Promise<Omit<SignUpdateResult, 'record'>> {
  const { run } = s;
  const { entry } = s.keys;
  const made = s.made!;
  const signatures = s.signatures!;
  const payloads = s.payloads!;
  for (const [i, d] of signatures.entries()) {
    run.record.addArtifactWithHash(d.input, 'input', { name: basename(d.input), sha256: d.sha256, size: made[i]!.input.size! });
    run.record.addArtifactWithHash(d.output, 'output', { name: basename(d.output), sha256: d.signatureSha256, size: byteLength(made[i]!.bytes) });
  }
  run.record.addKey(`signing-${entry.openpgp.keyId}`, exportCertificate(entry.certificate, 'armored'));
  const primaryFingerprint = (await certificateKeys(entry.certificate)).find((k) => k.role === 'primary')!.fingerprint;
  for (const p of payloads) {
    run.record.addArtifactWithHash(p.input, 'input', { name: basename(p.input), sha256: p.inputSha256, size: p.inputSize });
    run.record.addArtifactWithHash(p.output, 'output', { name: basename(p.output), sha256: p.outputSha256, size: p.outputSize });
  }
  return { verified: s.verified!, signed: signatures, payloads, key: { uri: s.key!.uri, fingerprint: entry.openpgp.fingerprint, primaryFingerprint } };
}

function byteLength(b: Uint8Array | string): number {
  return typeof b === 'string' ? Buffer.byteLength(b) : b.length;
}
