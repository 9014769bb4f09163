/**
 * The start of the payload ceremony (payload-sign.ts), in a module of its own that loads fast: the checks
 * that refuse a run before anything starts, the hashing threads, the PKCS#11 module, and the signing pass,
 * begun with the key sizes read without a PIN (payload/pending.ts). It imports no OpenPGP, record or
 * release-verification code, so the CLI can start it first and load the rest of the ceremony while the
 * pass reads and writes (docs/BENCHMARKS.md). Nothing is signed here: the pass only fills a temp file
 * and hashes, and the ceremony signs its hash after its record, confirmation, login and key checks.
 */
import { existsSync } from 'node:fs';
import { CeremonyError } from '../errors.js';
import { assertRegularFile } from '../files.js';
import { openModule, resolveModulePath, type Pkcs11Module } from '../hsm/module.js';
import { findHandles, readAttrs } from '../hsm/objects.js';
import { pkcs11 } from '../hsm/native.js';
import { TokenSession } from '../hsm/token.js';
import type { Pkcs11Uri } from '../hsm/uri.js';
import { PendingDraft } from '../payload/pending.js';
import { prestartSigningPass } from '../payload/draft.js';
import type { OpenPayloadSource } from '../payload/format.js';
import type { CeremonyContext } from './runner.js';

/** What a payload ceremony signs, with which keys, and how (the rest of its options are the ceremony context). */
export interface PayloadSignRequest {
  input: string;
  output: string;
  /** In signature order: the last key makes the version-2 signature update_engine checks. */
  keys: Pkcs11Uri[];
  trustedKeys?: string[];
  /** Certificates of designated revokers the pinned ones name (RFC 4880 §5.2.3.15; checked for revocations only). */
  revokerKeys?: string[];
  /**
   * Sign without verifying the server signature (no --trusted-key): an override the record carries
   * and the audit reviews as one. Without it and without trusted keys the ceremony refuses (exit 2).
   */
  allowUnverified?: boolean;
  overwrite?: boolean;
  signal?: AbortSignal;
  /** How the payload is opened for signing (default: the file); tests inject a source that changes between reads. */
  openInput?: OpenPayloadSource;
}

/** What the start needs: the payload, the keys and how to reach their module. */
export type PayloadSignStartOptions = PayloadSignRequest & Pick<CeremonyContext, 'sealKey' | 'module' | 'env'>;

export interface StartedPayloadSign {
  /** The process's PKCS#11 module. */
  readonly mod: Pkcs11Module;
  /** The key that seals the record: --seal-key, else the first payload key's token. */
  readonly sealUri: Pkcs11Uri;
  /** The signing pass, if the key sizes could be read without a PIN; whoever ends the ceremony abandons it. */
  readonly pending: PendingDraft | undefined;
}

/** Refuse what can never run, then start the hashing threads, the module and the pass. */
export function startPayloadSign(o: PayloadSignStartOptions): StartedPayloadSign {
  if (o.keys.length === 0) throw new CeremonyError('USAGE', 'signing a payload needs at least one --key');
  const verifying = (o.trustedKeys ?? []).length > 0;
  if (!verifying && !o.allowUnverified) {
    throw new CeremonyError('USAGE', 'give the build server certificate with --trusted-key (the payload is signed only after its server signature verifies), or --allow-unverified to sign it unverified, recorded as an override');
  }
  if (verifying && o.allowUnverified) throw new CeremonyError('USAGE', '--allow-unverified cannot be combined with --trusted-key: the payload is verified');
  if (!verifying && (o.revokerKeys ?? []).length > 0) throw new CeremonyError('USAGE', '--revoker-key checks revocations of a pinned certificate; give that certificate with --trusted-key');
  // The early checks (nothing starts for an input that is not a regular file); the late ones, on the
  // open descriptor and at the exclusive creation of the output, are in ceremony/payload.
  assertRegularFile(o.input, 'payload');
  if (!o.overwrite && existsSync(o.output)) throw new CeremonyError('OUTPUT_EXISTS', `${o.output} already exists; choose another --out (or --force)`);
  // The pass's hashing threads come up on the other core while the ceremony loads.
  prestartSigningPass();
  const sealUri = o.sealKey ?? o.keys[0]!;
  const mod = openModule(resolveModulePath({ uri: sealUri, flag: o.module, env: o.env }));
  const sizes = guessSignatureSizes(mod, o.keys);
  const pending = sizes ? PendingDraft.start(sizes, { input: o.input, output: o.output, overwrite: o.overwrite, signal: o.signal, openInput: o.openInput }) : undefined;
  return { mod, sealUri, pending };
}

/**
 * The payload keys' signature sizes as a session without a PIN sees them: the modulus of each key's
 * public object, in bytes. Only a guess, to start the pass before the login: anyone may edit public
 * objects without a PIN, so the pass is taken only if the private keys the logged-in session selects
 * have the same sizes (payload/sign.ts). Undefined when a key has no single public object or its token
 * cannot be read now; the login and the key selection then say what is wrong, in the record.
 */
export function guessSignatureSizes(mod: Pkcs11Module, keys: readonly Pkcs11Uri[]): number[] | undefined {
  const sizes: number[] = [];
  for (const uri of keys) {
    if (uri.object === undefined && uri.id === undefined) return undefined;
    let ts: TokenSession | undefined;
    try {
      ts = TokenSession.open(mod, uri, false);
      const template = [
        { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY },
        { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_RSA },
        ...(uri.object !== undefined ? [{ type: pkcs11.CKA_LABEL, value: uri.object }] : []),
        ...(uri.id !== undefined ? [{ type: pkcs11.CKA_ID, value: uri.id }] : []),
      ];
      const found = findHandles(ts, template);
      if (found.length !== 1) return undefined;
      const modulus = readAttrs(ts, found[0]!, [pkcs11.CKA_MODULUS]).get(pkcs11.CKA_MODULUS);
      const first = modulus ? modulus.findIndex((b) => b !== 0) : -1;
      if (!modulus || first < 0) return undefined;
      sizes.push(modulus.length - first); // the modulus without leading zero bytes: the signature's size
    } catch {
      return undefined;
    } finally {
      ts?.close();
    }
  }
  return sizes;
}
