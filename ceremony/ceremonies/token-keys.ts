/**
 * The keys a signing ceremony can use, read from the signing token's public objects before any PIN, so a
 * person can be shown them (label, fingerprint, role, validity; the URI on demand) and choose or confirm
 * one first (issue 13, "confirm before the HSM"). The app's inbox scan shows these; the ceremonies find the
 * same keys the same way (hsm-store findOpenpgpKeys, payload-steps spkiFingerprint).
 */
import { findKeys } from '../hsm/keys.js';
import { openModule, resolveModulePath } from '../hsm/module.js';
import { TokenSession } from '../hsm/token.js';
import { formatPkcs11Uri, parsePkcs11Uri } from '../hsm/uri.js';
import { findOpenpgpKeys, newestSigningKey } from '../openpgp/hsm-store.js';
import { spkiFingerprint } from './payload-steps.js';

export interface SigningKeyChoice {
  uri: string;
  label: string;
  /** OpenPGP fingerprint, upper-case hex. */
  fingerprint: string;
  role: string;
  /** ISO 8601 instants: created, and the instant it expires (absent: no expiry). */
  validFrom: string;
  validUntil?: string;
}

export interface PayloadKeyChoice {
  uri: string;
  label: string;
  /** SHA-256 of the SPKI, upper-case hex: how payload keys are named in records. */
  fingerprint: string;
}

/** Run `fn` on a read-only public session (no login) of the token `tokenUri` names, closed afterwards. */
async function onToken<T>(tokenUri: string, module: string | undefined, env: NodeJS.ProcessEnv, fn: (ts: TokenSession, token: string | undefined) => Promise<T>): Promise<T> {
  const uri = parsePkcs11Uri(tokenUri);
  const mod = openModule(resolveModulePath({ uri, flag: module, env }));
  const ts = TokenSession.open(mod, uri, false);
  try {
    return await fn(ts, uri.token);
  } finally {
    ts.close();
  }
}

/** The newest valid OpenPGP signing key on the token (hsm-store newestSigningKey), as the person will confirm it. */
export async function newestSigningKeyOnToken(tokenUri: string, module: string | undefined, env: NodeJS.ProcessEnv, now: Date): Promise<SigningKeyChoice> {
  return onToken(tokenUri, module, env, async (ts, token) => {
    const k = await newestSigningKey(ts, now);
    return {
      uri: formatPkcs11Uri({ token, object: k.key.label, id: k.key.id, type: 'private' }),
      label: k.key.label,
      fingerprint: k.openpgp.fingerprint,
      role: k.openpgp.role === 'subkey' ? 'OpenPGP signing subkey, the newest valid one on the signing token' : 'OpenPGP primary key, the newest valid signing key on the signing token',
      validFrom: k.openpgp.created.toISOString(),
      ...(k.expires ? { validUntil: k.expires.toISOString() } : {}),
    };
  });
}

/**
 * RSA-2048 keys on the token that could sign update payloads (update_engine checks RSA-2048 PKCS#1 v1.5
 * over SHA-256): public halves, read without a PIN, minus the token's OpenPGP keys.
 */
export async function payloadKeysOnToken(tokenUri: string, module: string | undefined, env: NodeJS.ProcessEnv, now: Date): Promise<PayloadKeyChoice[]> {
  return onToken(tokenUri, module, env, async (ts, token) => {
    const openpgpLabels = new Set((await findOpenpgpKeys(ts, now)).map((k) => k.key.label));
    return findKeys(ts, { token, type: 'public', extraPath: [], extraQuery: [] })
      .filter((k) => k.bits === 2048 && !openpgpLabels.has(k.label))
      .map((k) => ({ uri: formatPkcs11Uri({ token, object: k.label, id: k.id, type: 'private' }), label: k.label, fingerprint: spkiFingerprint(ts, k.handle) }));
  });
}
