/**
 * The init ceremony's steps (DESIGN §3 Init), in the order `runInit` takes them, each a function over one
 * `InitState`: load the config → make the quorum secret and derive the PINs → initialize the root token →
 * log in to it → generate the root key → build the self-certified primary certificate → log in to the
 * signing token → generate the first signing subkey → bind it to the root key → split the secret and
 * recombine every share → hand the shares out → export the certificate → pass the signing token's SO PIN
 * to the quorum → write the outputs.
 *
 * A step reads what earlier steps put in the state and adds what it makes. Everything a failure must
 * take back or wipe (sessions, secrets, the subkey made, whether the SO PIN was replaced) is in the state
 * as soon as it exists, so `runInit`'s one catch/finally sees it whichever step failed.
 */
import { join } from 'node:path';
import { CeremonyError } from '../errors.js';
import { wipe } from '../crypto.js';
import { changeSoPin, initializeToken, TokenSession, derivedPinSource } from '../hsm/token.js';
import { formatPkcs11Uri } from '../hsm/uri.js';
import { findPrivateKey, generateRsaKeyPair } from '../hsm/keys.js';
import { TokenKeySigner } from '../hsm/token-signer.js';
import { newQuorumSecret, newSetId, deriveQuorumPins } from '../quorum/index.js';
import { addSigningSubkey, buildPrimaryCertificate, exportCertificate } from '../openpgp/build/certificate.js';
import { toOpenpgpTime } from '../openpgp/build/packets.js';
import { verifyCertificate } from '../openpgp/build/self-check.js';
import { findOpenpgpKeys, storeCertificate } from '../openpgp/hsm-store.js';
import { formatValidity } from '../read-aloud.js';
import { hsmSealer } from './seal-key.js';
import { ROOT_KEY_LABEL, writeQuorumSet } from './quorum-state.js';
import { generateSigningSubkey, recombineStagedShares, splitForConfig, stageShares, sealerForSealKey, subkeyWindow } from './quorum-common.js';
import type { InitResult, InitState } from './init-state.js';

/** The config on record: quorum, root token and signing token. */
export function loadConfig(s: InitState): void {
  const { config } = s.o;
  s.run.note('load-config', { detail: `config ${config.path}: ${config.quorum.threshold}-of-${config.quorum.custodians.length}, root token '${config.hsm.rootToken}', signing token '${config.hsm.signingToken}'` });
}

/** The quorum secret (32 random bytes, memory only) and every PIN derived from it; no person knows any. */
export async function derivePins(s: InitState): Promise<void> {
  const { run, pinPlan } = s;
  const setId = newSetId();
  s.setId = setId;
  await run.step('derive-pins', 'making the quorum secret and deriving the root token PINs from it', () => {
    s.secret = newQuorumSecret();
    s.pins = deriveQuorumPins(s.secret, setId, pinPlan.formats);
  }, () => `made a 32-byte quorum secret in memory and derived the root user and SO PINs and the signing token's SO PIN from it (HKDF-SHA-256); no person knows any of them. ${pinPlan.detail}`);
  if (pinPlan.weak) run.note('derive-pins', { result: 'override', detail: `--accept-weak-pins: a PIN under 64 bits was accepted because the token allows no longer one (${pinPlan.detail})` });
}

/** The root token on the free slot, with the derived PINs (a factory SO PIN, if the slot has one, replaced). */
export async function initRootToken(s: InitState): Promise<void> {
  const { config } = s.o;
  const { rootFactorySo } = s;
  await s.run.step('init-token', `initializing the root token '${config.hsm.rootToken}' on a free slot`, async () => {
    const factory = rootFactorySo ? await rootFactorySo.read('current SO PIN of the free slot: ') : undefined;
    try {
      initializeToken(s.mod, s.freeSlot, config.hsm.rootToken, s.pins!.soPin, s.pins!.userPin, factory);
    } finally {
      wipe(factory);
    }
  }, () => `initialized token '${config.hsm.rootToken}' with the derived PINs`);
}

/** The root token's login with the derived user PIN. */
export async function loginRootToken(s: InitState): Promise<void> {
  const { config } = s.o;
  s.root = await s.run.step('root-login', `logging in to '${config.hsm.rootToken}' with the derived PIN`, async () => {
    return TokenSession.openLoggedIn(s.mod, { token: config.hsm.rootToken, extraPath: [], extraQuery: [] }, derivedPinSource(s.pins!.userPin), s.attempts);
  }, () => `logged in to '${config.hsm.rootToken}'`);
}

/** The root key (RSA-4096, locked, sign-only) on the root token; the ceremony's time is read here, once. */
export async function generateRootKey(s: InitState): Promise<void> {
  const { o } = s;
  const { config } = o;
  const root = s.root!;
  const now = o.now();
  s.now = now;
  s.created = toOpenpgpTime(now);
  const rootKey = await s.run.step('generate-key', 'generating the root key (RSA-4096) on the root token', () => {
    const made = generateRsaKeyPair(root, { label: ROOT_KEY_LABEL, bits: 4096, role: 'root', now, warn: (m) => o.reporter.warn(m) });
    return findPrivateKey(root, { object: made.label, id: made.id, extraPath: [], extraQuery: [] });
  }, (k) => ({ detail: `root key generated on '${config.hsm.rootToken}' (locked, sign-only; ${k.protections.extractable ? 'leaves the token only wrapped under a key the SO marks trusted' : 'never extractable'})`, key: { uri: k.uri, label: k.label } }));
  s.rootKey = rootKey;
  s.rootSigner = new TokenKeySigner(root, rootKey, o.now);
}

/**
 * The OpenPGP primary certificate, self-certified on the HSM, stored on the root token; from here the
 * root key can seal the record.
 */
export async function buildCertificate(s: InitState): Promise<void> {
  const { o } = s;
  const { config } = o;
  const root = s.root!;
  const rootSigner = s.rootSigner!;
  const created = s.created!;
  const userId = `${config.identity.name} <${config.identity.email}>`;
  const primary = await s.run.step('build-certificate', `building the OpenPGP certificate for "${userId}"`, () =>
    // certify+sign: GnuPG 2.2 refuses data signatures (the record seal, transition statements) by a
    // primary without the sign flag (ERRSIG 125, wrong key usage). See the README.
    buildPrimaryCertificate({ primary: rootSigner, created, userId, keyFlags: 'certify+sign' }),
  (b) => ({ detail: `self-certified root certificate ${b.key.fingerprint}`, key: { fingerprint: b.key.fingerprint, label: ROOT_KEY_LABEL } }));
  s.primary = primary;

  // From here the root key can seal this record, a refusal at the signing token's login included (issue 13:
  // every refusal is sealed whenever a key can be reached). Its certificate is stored now so the sealer
  // finds it as every later ceremony will; bind-subkey replaces it with the one that has the subkey.
  storeCertificate(root, s.rootKey!, primary.certificate, primary.key);
  const rootAlone = (await findOpenpgpKeys(root, s.now!)).find((k) => k.key.label === ROOT_KEY_LABEL);
  if (rootAlone && !o.sealKey) s.sealer = await hsmSealer(root, rootAlone, o.now);
}

/** The maintainer's login to the signing token, where the first signing subkey is made. */
export async function loginSigningToken(s: InitState): Promise<void> {
  const { o, signingPin } = s;
  const { config } = o;
  s.signing = await s.run.step('hsm-login', `logging in to the signing token '${config.hsm.signingToken}'`, async () => {
    return TokenSession.openLoggedIn(s.mod, { token: config.hsm.signingToken, extraPath: [], extraQuery: [] }, signingPin, s.attempts, { warn: (m) => o.reporter.warn(m) });
  }, () => `logged in to '${config.hsm.signingToken}' (${signingPin.kind} PIN)`);
  if (o.sealKey) s.sealer = await sealerForSealKey(o.sealKey, [s.root!, s.signing!], o.now);
}

/** The first yearly signing subkey (RSA-4096) on the signing token; its label is kept for take-back. */
export async function generateSubkey(s: InitState): Promise<void> {
  const { o } = s;
  const { config } = o;
  const signing = s.signing!;
  const now = s.now!;
  const window = subkeyWindow(config, now);
  s.window = window;
  s.sub = await s.run.step('generate-key', 'generating the first signing subkey (RSA-4096) on the signing token', () => {
    const made = generateSigningSubkey(signing, config, now, (m) => o.reporter.warn(m));
    s.subLabel = made.key.label;
    return made;
  },
    (sub) => ({ detail: `signing subkey '${sub.key.label}' generated, ${formatValidity(window.validFrom, window.validUntil)}`, key: { uri: sub.key.uri, label: sub.key.label, validFrom: window.validFrom.toISOString(), validUntil: window.validUntil.toISOString() } }));
}

/** Binding signature by the root key and back-signature by the subkey, checked, stored on both tokens. */
export async function bindSubkey(s: InitState): Promise<void> {
  const { o } = s;
  const root = s.root!;
  const signing = s.signing!;
  const rootKey = s.rootKey!;
  const rootSigner = s.rootSigner!;
  const primary = s.primary!;
  const sub = s.sub!;
  const created = s.created!;
  const window = s.window!;
  s.bound = await s.run.step('bind-subkey', 'binding the subkey to the root key (binding signature and back-signature)', async () => {
    const built = await addSigningSubkey(primary.certificate, { primary: rootSigner, subkey: sub.signer, subkeyCreated: created, expires: window.validUntil, now: created });
    const status = await verifyCertificate(built.certificate, created);
    if (!status.subkeys.some((k) => k.fingerprint === built.key.fingerprint && k.canSign)) {
      throw new CeremonyError('SELF_CHECK_FAILED', 'the new certificate does not verify with its own subkey binding');
    }
    storeCertificate(root, rootKey, built.certificate, primary.key);
    storeCertificate(signing, sub.key, built.certificate, built.key);
    return built;
  }, (b) => ({ detail: `subkey ${b.key.fingerprint} bound to root ${primary.key.fingerprint}; certificate stored on both tokens`, key: { fingerprint: b.key.fingerprint, validFrom: window.validFrom.toISOString(), validUntil: window.validUntil.toISOString() } }));

  // The root key seals this record: find it the way every later ceremony will, from the token.
  const rootEntry = (await findOpenpgpKeys(root, s.now!)).find((k) => k.key.label === ROOT_KEY_LABEL);
  if (rootEntry && !o.sealKey) s.sealer = await hsmSealer(root, rootEntry, o.now);
}

/**
 * Split the secret k-of-n, stage the shares, and recombine every one as staged before anyone leaves; the
 * quorum set is then stored on the root token, signed by the root key.
 */
export async function splitSecret(s: InitState): Promise<void> {
  const { o, run, pinPlan } = s;
  const { config } = o;
  const secret = s.secret!;
  // The PINs were derived with this set ID as salt: the split must carry the same one.
  const split = await run.step('split', `splitting the quorum secret ${config.quorum.threshold}-of-${config.quorum.custodians.length}`, () => splitForConfig(secret, config, s.setId!), (p) => ({ detail: `split into ${p.shares.length} shares, any ${p.descriptor.threshold} of which recover the secret`, quorum: { threshold: p.descriptor.threshold, total: p.shares.length, custodians: p.descriptor.custodians } }));

  const shareFiles = await stageShares(s.staged, split, config, { rootFingerprint: s.primary!.key.fingerprint });
  await run.step('recombine-check', 'recombining every share, read back as it will be handed out, before anyone leaves', () => recombineStagedShares(split.descriptor, secret, shareFiles),
    (c) => `every share, as written, took part in a successful recombination (${c} k-subsets checked against the secret and the commitment)`);
  // Signed by the root key: a session without a PIN can replace the object but not forge this (issue 10).
  await writeQuorumSet(s.root!, { ...split.descriptor, version: 2, signingSoPin: 'quorum', pins: pinPlan.formats }, s.rootSigner!);
  s.handed = shareFiles.handed;
}

/** Each share handed to its custodian, on record (encrypted to the custodian's key when configured). */
export function handOutShares(s: InitState): void {
  for (const h of s.handed!) {
    s.run.note('hand-out-share', { detail: `share ${h.index} for ${h.custodian}${h.encrypted ? ', encrypted to the custodian\'s OpenPGP key' : ''}`, actor: { role: 'custodian', name: h.custodian } });
  }
}

/** The public certificate and the root fingerprint, staged with the other outputs. */
export async function exportPublicCertificate(s: InitState): Promise<void> {
  const { staged } = s;
  const primary = s.primary!;
  const armored = exportCertificate(s.bound!.certificate, 'armored');
  s.armored = armored;
  await s.run.step('export-certificate', 'exporting the public certificate', () => {
    staged.write('certificate.asc', armored);
    staged.write('root.fingerprint', `${primary.key.fingerprint}\n`);
  }, () => ({ detail: `certificate.asc and root.fingerprint (${primary.key.fingerprint})`, key: { fingerprint: primary.key.fingerprint } }));
}

/**
 * Last before the commit: the signing token's SO PIN passes from the operator to the quorum, so no
 * single person can re-initialise the token or make a trusted wrapping key on it (issue 10).
 */
export async function rotateSigningSoPin(s: InitState): Promise<void> {
  const { o, operatorSoPin, attempts } = s;
  const { config } = o;
  const signing = s.signing!;
  await s.run.step('rotate-pins', `replacing the SO PIN of the signing token '${config.hsm.signingToken}' with one derived from the quorum secret`, async () => {
    s.oldSigningSo = await operatorSoPin.read(`current SO PIN of token '${config.hsm.signingToken}': `);
    await changeSoPin(signing, s.oldSigningSo, s.pins!.signingSoPin, attempts, operatorSoPin.kind);
    s.signingSoRotated = true;
    // Back to the maintainer's login for the rest (PKCS#11 §5.6: one login state per token).
    await signing.login(s.signingPin.replay(), attempts);
  }, () => ({ detail: `the signing token's SO PIN (given by ${operatorSoPin.kind}) is replaced by one derived from the quorum secret (HKDF-SHA-256); only the maintainers' user PIN is known to people`, actor: { role: 'system' } }));
}

/** The commit: every staged output moved into the out dir, and put on record (the shares only by count). */
export async function writeOutputs(s: InitState): Promise<Omit<InitResult, 'record'>> {
  const { o, run } = s;
  const { config } = o;
  const written = await run.step('write-output', `writing the outputs to ${o.outDir}`, () => {
    s.committed = true;
    return s.staged.commit();
  }, (files) => `${files.length} files written`);
  for (const f of written) if (!f.includes('/shares/')) await run.record.addArtifact(f, 'output');
  run.record.addKey('root-certificate', s.armored!);
  return { rootFingerprint: s.primary!.key.fingerprint, subkeyFingerprint: s.bound!.key.fingerprint, signingKeyUri: formatPkcs11Uri({ token: config.hsm.signingToken, object: s.sub!.key.label }), certificatePath: join(o.outDir, 'certificate.asc'), shares: s.handed! };
}
