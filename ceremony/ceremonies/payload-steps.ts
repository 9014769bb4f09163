/**
 * The steps a ceremony takes to sign an update payload (DESIGN §3), shared by `payload sign` and by
 * `sign --payload`: one login per token, each payload key found and inside its validity window, the
 * payload signed in one streaming pass (only if it still has the verified SHA-256), and the written
 * file checked again with update_engine's rule and the exported public key.
 */
import { basename } from 'node:path';
import { connectToken, resolveTokenIdentity } from '../hsm/connect.js';
import { assertKeyUsable, findPrivateKey, publicKeyOf } from '../hsm/keys.js';
import { spkiSha256 } from '../hsm/key-state.js';
import type { PinAttempts, TokenSession } from '../hsm/token.js';
import { TokenKeySigner } from '../hsm/token-signer.js';
import type { Pkcs11Uri } from '../hsm/uri.js';
import { checkSignablePayload, signPayload, verifyPayload, type PendingDraft, type SignPayloadResult } from '../payload/index.js';
import type { OpenPayloadSource } from '../payload/format.js';
import type { CeremonyContext, CeremonyRun } from './runner.js';
import { endOfDay } from '../dates.js';


/**
 * Keys on the same token share one session and one login (one PIN entry for many keys), whatever the
 * spelling of their URIs: the token is the one the URI resolves to (hsm/connect.ts).
 */
export function tokenIdentity(uri: Pkcs11Uri, ctx: Pick<CeremonyContext, 'module' | 'env'>): string {
  return resolveTokenIdentity(uri, ctx);
}

/** The session for `uri`'s token from `sessions`, or a new logged-in one (added; the caller closes it). */
export async function sessionFor(run: CeremonyRun, ctx: CeremonyContext, uri: Pkcs11Uri, sessions: Map<string, TokenSession>, attempts: PinAttempts): Promise<TokenSession> {
  const id = tokenIdentity(uri, ctx);
  const open = sessions.get(id);
  if (open) return open;
  const session = await run.step('hsm-login', `logging in to token '${uri.token ?? uri.serial ?? ''}'`, () =>
    connectToken(uri, { module: ctx.module, pinFile: ctx.pinFile, env: ctx.env, stdin: ctx.stdin, attempts, login: true, readWrite: false, events: { warn: (m) => ctx.reporter.warn(m) } }),
  (t) => `logged in to '${t.info.label}'`);
  sessions.set(id, session);
  return session;
}

/** An RSA payload key has no OpenPGP fingerprint: the record names it by the SHA-256 of its SPKI, upper-case. */
export function spkiFingerprint(ts: TokenSession, handle: Buffer): string {
  return spkiSha256(ts, handle).toUpperCase();
}

/**
 * Log in where needed (`sessions`, keyed by tokenIdentity, may already hold the ceremony's sessions;
 * new ones are added and the caller closes them) and select each payload key, recording both steps.
 */
export async function selectPayloadSigners(
  run: CeremonyRun,
  ctx: CeremonyContext,
  keys: readonly Pkcs11Uri[],
  sessions: Map<string, TokenSession>,
  attempts: PinAttempts,
): Promise<TokenKeySigner[]> {
  const signers: TokenKeySigner[] = [];
  for (const uri of keys) {
    const s = await sessionFor(run, ctx, uri, sessions, attempts);
    const key = await run.step('select-key', `selecting payload key ${uri.object ?? ''} and checking its validity window`, () => {
      const k = findPrivateKey(s, uri);
      assertKeyUsable(k, ctx.now(), (m) => ctx.reporter.warn(m));
      return k;
    }, (k) => ({
      detail: `payload key '${k.label}' (RSA-${k.bits}) is inside its validity window`,
      key: { uri: k.uri, label: k.label, fingerprint: spkiFingerprint(s, k.handle), ...(k.startDate ? { validFrom: k.startDate.toISOString() } : {}), ...(k.endDate ? { validUntil: endOfDay(k.endDate).toISOString() } : {}) },
    }));
    // The selection warned of the key already (assertKeyUsable above); the signer's own check at the signature only refuses.
    signers.push(new TokenKeySigner(s, key, ctx.now));
  }
  return signers;
}

/**
 * Refuse, as a failed 'verify-input', any payload that could not be signed (not a CrAU payload, already
 * signed, an operation outside the file): before the plan is confirmed and anyone logs in, and in a
 * release ceremony before any release file is signed. Reads headers and manifests only.
 */
export async function checkPayloadsSignable(run: CeremonyRun, inputs: readonly string[]): Promise<void> {
  for (const input of inputs) {
    try {
      await checkSignablePayload(input);
    } catch (e) {
      run.failed('verify-input', e);
      throw e;
    }
  }
}

export interface PayloadToSign {
  input: string;
  output: string;
  /** The SHA-256 the input was verified with: signing is refused if the file changed since. */
  verifiedSha256?: Buffer;
  overwrite?: boolean;
  signal?: AbortSignal;
  /** How the payload is opened (default: the file); tests inject a source that changes between reads. */
  openInput?: OpenPayloadSource;
  /** The pass started ahead of the login (payload-start.ts), if any: taken if the selected keys fit it. */
  pending?: PendingDraft;
}

/**
 * Sign one payload and check the written file. `onWritten` hears the output path as soon as it is in
 * place, so the caller can take it back if any later step fails, up to and including the seal.
 */
export async function signPayloadStep(
  run: CeremonyRun,
  ctx: CeremonyContext,
  p: PayloadToSign,
  signers: TokenKeySigner[],
  onWritten: (output: string) => void,
): Promise<SignPayloadResult> {
  const last = signers.at(-1)!;
  const name = basename(p.input);
  const result = await run.step('sign', `signing the update payload ${name} with ${signers.length} key(s)`, async () => {
    const r = await signPayload({ input: p.input, output: p.output, signers, overwrite: p.overwrite, expectInputSha256: p.verifiedSha256, signal: p.signal, openInput: p.openInput, pending: p.pending, onProgress: (x) => ctx.reporter.progress?.(`signing ${name}`, x.bytes, x.total) });
    onWritten(p.output);
    return r;
  }, (r) => ({
    detail: `${name} signed: SHA-256 ${r.signedHash.toString('hex')} of bytes 0..${r.size - r.signaturesSize}, signature versions ${r.signatures.map((x) => x.version).join(', ')}`,
    inputs: [{ name, sha256: r.inputSha256.toString('hex') }],
    key: { uri: last.key.uri, fingerprint: spkiFingerprint(last.session, last.key.handle) },
  }));
  // The bulk was hashed while it was written; structure and signatures are read back from the file.
  await run.step('self-check', `checking ${basename(p.output)} with update_engine's rule and the exported public key`, () =>
    verifyPayload(p.output, [publicKeyOf(last.session, last.key.handle)], { signedHash: result.signedHash }),
  (c) => `${basename(p.output)}: the version-2 signature verifies over bytes 0..${c.signedBytes}`);
  return result;
}
