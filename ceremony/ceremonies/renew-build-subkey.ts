/**
 * The renewal's second subkey (issue 15): the build server's next yearly signing key, certified by the
 * root key in the same quorum ceremony. Two steps for `runRenew`:
 *
 *  1. `checkBuildSubkeyStep`, before any share is taken: the request is parsed and every policy check
 *     runs, so a refused request costs the custodians nothing and changes nothing;
 *  2. `bindBuildSubkeyStep`, after the offline subkey is bound: the root key (on the HSM) makes the
 *     subkey binding signature (0x18, sign flag, the ceremony's validity window) embedding the build
 *     server's own back-signature. The binding is checked again over the finished certificate.
 *
 * Policy (what the request may be): RSA of 3072 to 16384 bits; created no later than the ceremony and no
 * earlier than renewWindowDays before it (a key made for this renewal; an older one may have been exposed
 * for longer than a year's key should be); not a key the certificate already holds (the root, any
 * earlier offline or build-server subkey) nor a build-server key pinned in the config (last year's key,
 * made before this flow). The validity window is the ceremony's, the same as the offline subkey's: the
 * request cannot ask for more.
 */
import { readKeys, type Key, type PublicKeyPacket } from 'openpgp';
import { MAX_CERTIFICATE_BYTES, readCertificatePackets, addRequestedSigningSubkey, certificateKeys, type BuiltCertificate } from '../openpgp/build/certificate.js';
import {
  checkBackSignature,
  checkBuildSubkeyAlgorithm,
  readBuildSubkeyRequest,
  type BuildSubkeyRequest,
} from '../openpgp/build/build-subkey-request.js';
import { fingerprintHex } from '../openpgp/build/packets.js';
import { verifyCertificate } from '../openpgp/build/self-check.js';
import { readInputFile } from '../files.js';
import { CeremonyError } from '../errors.js';
import type { CeremonyConfig } from '../config.js';
import type { DigestSigner } from '../signer.js';
import type { CeremonyRun } from './runner.js';
import { DAY_MS } from '../dates.js';


export interface BuildSubkeyInput {
  /** How the request is named in messages and the record (its file name). */
  source: string;
  bytes: Uint8Array;
}

export interface CheckedBuildSubkey {
  request: BuildSubkeyRequest;
  source: string;
}

/** What transition.json says about the build server's subkey. */
export interface BuildSubkeyTransition {
  fingerprint: string;
  algorithm: string;
  created: string;
  validFrom: string;
  validUntil: string;
}

/**
 * Fingerprints of every key in the pinned build-server certificates (refused for reuse). Any key they
 * hold counts, valid or not; an unreadable pinned certificate stops the check (fail closed).
 */
async function pinnedBuildKeyFingerprints(config: CeremonyConfig): Promise<Set<string>> {
  const out = new Set<string>();
  for (const path of config.trustedBuildKeys) {
    const bytes = readInputFile(path, 'pinned build-server certificate', MAX_CERTIFICATE_BYTES);
    const text = bytes.toString('latin1');
    let found: Key[];
    try {
      found = text.trimStart().startsWith('-----BEGIN PGP ') ? await readKeys({ armoredKeys: text }) : await readKeys({ binaryKeys: bytes });
    } catch (e) {
      throw new CeremonyError('CERTIFICATE_MALFORMED', `the pinned build-server certificate ${path} cannot be parsed`, { cause: e });
    }
    for (const k of found) for (const sub of k.getKeys()) out.add(sub.getFingerprint().toUpperCase());
  }
  return out;
}

/** Every policy check on a request against the certificate in force; throws the check's own code. */
export async function checkBuildSubkeyRequest(input: BuildSubkeyInput, o: { certificate: Uint8Array; config: CeremonyConfig; now: Date }): Promise<BuildSubkeyRequest> {
  const request = await readBuildSubkeyRequest(input.bytes);
  const root = (await readCertificatePackets(o.certificate))[0] as PublicKeyPacket;
  const rootFpr = fingerprintHex(root);
  if (fingerprintHex(request.root) !== rootFpr) {
    throw new CeremonyError('BUILD_SUBKEY_WRONG_ROOT', `${input.source} asks to be bound to root ${fingerprintHex(request.root)}, not to the root in force ${rootFpr}`);
  }
  checkBuildSubkeyAlgorithm(request);
  const held = (await certificateKeys(o.certificate)).map((k) => k.fingerprint);
  if (held.includes(request.fingerprint)) {
    throw new CeremonyError('BUILD_SUBKEY_REUSED', `the build-server key ${request.fingerprint} is already in the certificate: a renewal certifies a new key`);
  }
  if ((await pinnedBuildKeyFingerprints(o.config)).has(request.fingerprint)) {
    throw new CeremonyError('BUILD_SUBKEY_REUSED', `the build-server key ${request.fingerprint} is a pinned build-server key already in use: a renewal certifies a new key`);
  }
  const maxAgeDays = Math.max(1, o.config.keys.renewWindowDays);
  if (request.created.getTime() > o.now.getTime()) {
    throw new CeremonyError('BUILD_SUBKEY_OUT_OF_WINDOW', `the build-server key ${request.keyId} is dated ${request.created.toISOString()}, after the ceremony's clock`);
  }
  if (request.created.getTime() < o.now.getTime() - maxAgeDays * DAY_MS) {
    throw new CeremonyError('BUILD_SUBKEY_OUT_OF_WINDOW', `the build-server key ${request.keyId} was made ${request.created.toISOString().slice(0, 10)}, more than ${maxAgeDays} days before this renewal: an old key is not certified as next year's`);
  }
  if (request.backSignature.created && request.backSignature.created.getTime() > o.now.getTime()) {
    throw new CeremonyError('BUILD_SUBKEY_OUT_OF_WINDOW', `the back-signature of the build-server key ${request.keyId} is dated after the ceremony's clock`);
  }
  const expires = request.backSignature.getExpirationTime();
  if (expires instanceof Date && expires.getTime() <= o.now.getTime()) {
    throw new CeremonyError('BUILD_SUBKEY_OUT_OF_WINDOW', `the back-signature of the build-server key ${request.keyId} has expired`);
  }
  await checkBackSignature(request, root);
  return request;
}

/** Step 1 of runRenew: check the request before any share is taken (recorded under load-config). */
export async function checkBuildSubkeyStep(run: CeremonyRun, input: BuildSubkeyInput, o: { certificate: Uint8Array; config: CeremonyConfig; now: Date }): Promise<CheckedBuildSubkey> {
  const request = await run.step('load-config', `checking the build-server subkey request ${input.source}`, () => checkBuildSubkeyRequest(input, o), (r) => ({
    detail: `build-server subkey request ${input.source}: key ${r.fingerprint} (${r.algorithm}, made ${r.created.toISOString()}), back-signature valid over the root in force`,
    key: { fingerprint: r.fingerprint },
  }));
  return { request, source: input.source };
}

/**
 * Step 2 of runRenew: bind the checked request with the root key into `built` (the certificate with the
 * new offline subkey), and check the result as a whole.
 */
export async function bindBuildSubkeyStep(
  run: CeremonyRun,
  checked: CheckedBuildSubkey,
  o: { built: BuiltCertificate; rootSigner: DigestSigner; window: { validFrom: Date; validUntil: Date }; now: Date },
): Promise<{ certificate: Uint8Array; transition: BuildSubkeyTransition }> {
  const r = checked.request;
  const certificate = await run.step('bind-subkey', `binding the build server's subkey ${r.keyId} to the root key`, async () => {
    const made = await addRequestedSigningSubkey(o.built.certificate, { primary: o.rootSigner, subkey: r.subkey, backSignature: r.backSignature, expires: o.window.validUntil, now: o.now });
    const check = await verifyCertificate(made.certificate, o.now);
    if (!check.subkeys.some((s) => s.fingerprint === r.fingerprint && s.canSign) || !check.subkeys.some((s) => s.fingerprint === o.built.key.fingerprint && s.canSign)) {
      throw new CeremonyError('SELF_CHECK_FAILED', 'the renewed certificate does not verify with both new signing subkeys');
    }
    return made.certificate;
  }, () => ({
    detail: `build-server subkey ${r.fingerprint} (${r.algorithm}) bound to the root key with its own back-signature, valid to ${o.window.validUntil.toISOString().slice(0, 10)}`,
    key: { fingerprint: r.fingerprint, validFrom: o.window.validFrom.toISOString(), validUntil: o.window.validUntil.toISOString() },
  }));
  return {
    certificate,
    transition: { fingerprint: r.fingerprint, algorithm: r.algorithm, created: r.created.toISOString(), validFrom: o.window.validFrom.toISOString(), validUntil: o.window.validUntil.toISOString() },
  };
}
