/**
 * The renewal's steps (DESIGN §3 Renew), in the order `runRenew` takes them, each a function over one
 * `RenewState`: load the config → confirm the quorum session → collect the shares → derive the PINs →
 * unlock the root key → log in to the signing token → generate the new keys → bind them to the root key →
 * derive the new set's PINs → sign the transition statement → split and recombine the new set → stage
 * the certificate → commit (rotate the PINs, write the new set and certificate to the tokens) → write the
 * outputs.
 *
 * A step reads what earlier steps put in the state and adds what it makes. Everything a failure must
 * take back or wipe (sessions, secrets, keys made, how far the PINs were rotated) is in the state as soon
 * as it exists, so `runRenew`'s one catch/finally sees it whichever step failed.
 */
import { join } from 'node:path';
import { CeremonyError } from '../errors.js';
import { hashBytes } from '../crypto.js';
import { changePin, changeSoPin, derivedPinSource, TokenSession } from '../hsm/token.js';
import { formatPkcs11Uri } from '../hsm/uri.js';
import { findPrivateKey, generateRsaKeyPair, publicKeyOf, publicKeyPem } from '../hsm/keys.js';
import { TokenKeySigner } from '../hsm/token-signer.js';
import { spkiSha256 } from '../hsm/key-state.js';
import {
  deriveQuorumPins,
  newQuorumSecret,
  newSetId,
  confirmsQuorumSession,
  sessionConfirmationText,
  signingSoHolder,
  pinFormatsOf,
} from '../quorum/index.js';
import { addSigningSubkey, certificateKeys, exportCertificate } from '../openpgp/build/certificate.js';
import { createDetachedSignature } from '../openpgp/build/detached.js';
import { toOpenpgpTime } from '../openpgp/build/packets.js';
import { verifyCertificate, verifyDetachedSignature } from '../openpgp/build/self-check.js';
import { findOpenpgpKeys, storeCertificate } from '../openpgp/hsm-store.js';
import type { CeremonyRun, RunnableStep } from './runner.js';
import { collectQuorum } from './quorum-shares.js';
import { hsmSealer } from './seal-key.js';
import { formatExpiry, formatInstant, formatQuorumId, formatValidity } from '../read-aloud.js';
import { bindBuildSubkeyStep, checkBuildSubkeyStep } from './renew-build-subkey.js';
import { ROOT_KEY_LABEL, readQuorumState, writeQuorumSet } from './quorum-state.js';
import {
  generateSigningSubkey,
  recombineStagedShares,
  splitForConfig,
  stageShares,
  sealerForSealKey,
} from './quorum-common.js';
import type { RenewResult, RenewState } from './renew-state.js';
import { DAY_MS } from '../dates.js';


/** Said at the end of every renewal (issue 11, README "Backup and restore"). */
export const BACKUP_STALE_AFTER_RENEWAL =
  'every backup made before this renewal is now stale: it lacks the new subkey and opens with the superseded shares; run ceremony backup with the new shares, then destroy the older backup files';

/** Test seam (`failAfter`): throw after this step is recorded, to prove a failure anywhere leaves the state in force. */
function inject(s: RenewState, step: RunnableStep): void {
  if (s.o.failAfter === step) throw new CeremonyError('INTERNAL', `fault injected after step ${step}`);
}

/** The config and what is in force, on record; a build-server subkey request checked before any share is taken. */
export async function loadConfig(s: RenewState): Promise<void> {
  const { o, run, now } = s;
  const { config } = o;
  const { inForce, inForceState, certificate, status, newCustodians } = s.preview;
  run.note('load-config', `config ${config.path}: new quorum ${config.quorum.threshold}-of-${newCustodians.length} (${newCustodians.join(', ')}); set in force ${inForce.threshold}-of-${inForce.custodians.length}`);
  renewalWindowNote(run, status.subkeys, config.keys.renewWindowDays, now);
  if (!inForceState.signed) {
    run.note('load-config', { result: 'warning', detail: 'the quorum set on the root token is not signed (stored before sets were signed by the root key); this renewal stores the new set signed' });
  }
  if (signingSoHolder(inForce) === 'operator') {
    run.note('load-config', {
      result: 'warning',
      detail: s.operatorSoPin
        ? "the signing token's SO PIN is still a person's (set made before SO PINs were quorum-held); this renewal hands it to the quorum"
        : "the signing token's SO PIN is still a person's (set made before SO PINs were quorum-held); give --so-pin-file or CEREMONY_SO_PIN at this renewal to hand it to the quorum",
    });
  }
  s.buildRequest = o.buildSubkey && (await checkBuildSubkeyStep(run, o.buildSubkey, { certificate, config, now }));
}

/** DESIGN §3: the session ID binds the renewal's parameters; the custodians confirm it before any share. */
export async function confirmQuorumSession(s: RenewState): Promise<void> {
  const { o, run } = s;
  const { config } = o;
  const { sessionId, window, newCustodians } = s.preview;
  await run.step('quorum-session', 'binding the quorum session to its parameters', async () => {
    o.reporter.step('quorum-session', 'running', `quorum session ID ${sessionId.display}  (${sessionId.words})`);
    if (o.expectSessionId !== undefined && !confirmsQuorumSession(o.expectSessionId, sessionId.hex)) {
      throw new CeremonyError('NOT_CONFIRMED', `the quorum session ID is ${sessionId.display}, not the one the custodians confirmed: the renewal parameters differ, so the ceremony stops`);
    }
    if (o.confirmSession && !confirmsQuorumSession(await o.confirmSession(sessionId), sessionId.hex)) {
      throw new CeremonyError('NOT_CONFIRMED', `the custodians did not confirm the quorum session ID (type its first groups, ${sessionConfirmationText(sessionId)}, to confirm)`);
    }
  }, () => ({
    detail: `session ${sessionId.display} for root ${s.rootFingerprint}, new subkey ${formatValidity(window.validFrom, window.validUntil)}, new quorum ${config.quorum.threshold}-of-${newCustodians.length}${o.confirmSession ? ', confirmed by the custodians' : o.expectSessionId ? ', matching the expected ID' : ', unattended'}`,
    quorum: { sessionId: sessionId.hex, threshold: config.quorum.threshold, total: newCustodians.length, custodians: newCustodians },
  }));
}

/** Shares one by one: each checked and named on arrival; a refused share changes nothing. */
export async function collectShares(s: RenewState): Promise<void> {
  const { o } = s;
  const { inForce, inForceState, sessionId } = s.preview;
  const recovered = await collectQuorum(s.run, s.session, inForce, o, {
    sessionId: sessionId.hex,
    progress: (have, need) => o.reporter.progress?.('shares', have, need),
    // An unsigned set (stored before sets were signed) cannot tell "superseded share" from "replaced set".
    refused: (err) => {
      if (err.code === 'SHARE_FOREIGN' && !inForceState.signed) {
        o.reporter.warn(`the quorum set on token '${o.config.hsm.rootToken}' is not signed by the root key, so it may have been replaced: if this share is genuine and current, the token was tampered with`);
      }
    },
  });
  s.oldSecret = recovered.secret;
  for (const m of recovered.misfits) o.reporter.warn(`the share of ${m.custodian} (${m.source}) does not fit the set: it is forged or altered`);
}

/** The PINs of the set in force, as the set records their formats. */
export async function deriveOldPins(s: RenewState): Promise<void> {
  const { inForce } = s.preview;
  await s.run.step('derive-pins', 'deriving the root token PINs from the recovered secret', () => {
    s.oldPins = deriveQuorumPins(s.oldSecret!, inForce.setId, pinFormatsOf(inForce));
  }, () => 'derived the root user and SO PINs and the signing token\'s SO PIN (HKDF-SHA-256); no person knows any of them');
  inject(s, 'derive-pins');
}

/** Log in to the root token, check its quorum set against the private root key, and take the root key's sealer. */
export async function unlockRootKey(s: RenewState): Promise<void> {
  const { o, root, now } = s;
  const { config } = o;
  await s.run.step('root-login', `logging in to '${config.hsm.rootToken}' with the derived PIN`, () => root.login(derivedPinSource(s.oldPins!.userPin), s.attempts), () => `logged in to '${config.hsm.rootToken}'`);
  inject(s, 'root-login');
  const rootKey = findPrivateKey(root, { object: ROOT_KEY_LABEL, extraPath: [], extraQuery: [] });
  // Now against the private root key itself (its public half could have been swapped with the set).
  if (readQuorumState(root, { rootKey }).descriptorJson !== s.preview.inForceState.descriptorJson) {
    throw new CeremonyError('TOKEN_TAMPERED', `token '${config.hsm.rootToken}' was tampered with: its quorum set changed during the ceremony; nothing was changed`);
  }
  s.rootSigner = new TokenKeySigner(root, rootKey, o.now);
  const rootEntry = (await findOpenpgpKeys(root, now)).find((k) => k.key.label === ROOT_KEY_LABEL);
  if (rootEntry && !o.sealKey) s.sealer = await hsmSealer(root, rootEntry, o.now);
}

/** The maintainer's login to the signing token, where the new keys are made. */
export async function loginSigningToken(s: RenewState): Promise<void> {
  const { o, signingPin } = s;
  const { config } = o;
  s.signing = await s.run.step('hsm-login', `logging in to the signing token '${config.hsm.signingToken}'`, async () => {
    return TokenSession.openLoggedIn(s.mod, { token: config.hsm.signingToken, extraPath: [], extraQuery: [] }, signingPin, s.attempts, { warn: (m) => o.reporter.warn(m) });
  }, () => ({ detail: `logged in to '${config.hsm.signingToken}' (${signingPin.kind} PIN)`, actor: { role: 'maintainer' } }));
  if (o.sealKey) s.sealer = await sealerForSealKey(o.sealKey, [s.root, s.signing!], o.now);
}

/** The new signing subkey (and, if asked, a new payload key) on the signing token; each is listed for take-back. */
export async function generateKeys(s: RenewState): Promise<void> {
  const { o, run, now, created } = s;
  const { config } = o;
  const { window } = s.preview;
  const signing = s.signing!;
  s.sub = await run.step('generate-key', 'generating the new signing subkey (RSA-4096) on the signing token', () => {
    const made = generateSigningSubkey(signing, config, now, (m) => o.reporter.warn(m));
    created.push({ label: made.key.label });
    return made;
  }, (sub) => ({ detail: `signing subkey '${sub.key.label}' generated, ${formatValidity(window.validFrom, window.validUntil)}`, key: { uri: sub.key.uri, label: sub.key.label, validFrom: window.validFrom.toISOString(), validUntil: window.validUntil.toISOString() } }));
  if (o.newPayloadKey) {
    s.payloadKey = await run.step('generate-key', `generating the new payload key '${o.newPayloadKey}' (RSA-2048)`, () => {
      const made = generateRsaKeyPair(signing, { label: o.newPayloadKey!, bits: 2048, role: 'payload', validDays: window.tokenDays, now, warn: (m) => o.reporter.warn(m) });
      created.push({ label: made.label });
      return { key: made, pem: publicKeyPem(publicKeyOf(signing, made.handle)) };
    }, (p) => ({ detail: `payload key '${p.key.label}' generated`, key: { uri: p.key.uri, label: p.key.label, validFrom: window.validFrom.toISOString(), validUntil: window.validUntil.toISOString() } }));
  }
  inject(s, 'generate-key');
}

/** The subkey binding by the root key (earlier subkeys kept), and the build server's subkey if one was asked. */
export async function bindSubkeys(s: RenewState): Promise<void> {
  const { window, certificate } = s.preview;
  const rootSigner = s.rootSigner!;
  const sub = s.sub!;
  const subCreated = toOpenpgpTime(s.now);
  const bound = await s.run.step('bind-subkey', 'binding the new subkey to the root key, keeping the earlier subkeys', async () => {
    const built = await addSigningSubkey(certificate, { primary: rootSigner, subkey: sub.signer, subkeyCreated: subCreated, expires: window.validUntil, now: subCreated });
    const check = await verifyCertificate(built.certificate, subCreated);
    if (!check.subkeys.some((k) => k.fingerprint === built.key.fingerprint && k.canSign)) throw new CeremonyError('SELF_CHECK_FAILED', 'the renewed certificate does not verify with its new subkey binding');
    return built;
  }, (b) => ({ detail: `subkey ${b.key.fingerprint} bound to root ${s.rootFingerprint}; ${s.previousSubkeys.length} earlier subkey(s) kept`, key: { fingerprint: b.key.fingerprint, validFrom: window.validFrom.toISOString(), validUntil: window.validUntil.toISOString() } }));
  s.bound = bound;
  s.buildKey = s.buildRequest && (await bindBuildSubkeyStep(s.run, s.buildRequest, { built: bound, rootSigner, window, now: subCreated }));
  if (s.buildKey) bound.certificate = s.buildKey.certificate;
  inject(s, 'bind-subkey');
}

/** New quorum secret and set: made now, committed only after everything else is ready. */
export function deriveNewPins(s: RenewState): void {
  const { pinPlan } = s;
  s.newSetId = newSetId();
  s.newSecret = newQuorumSecret();
  s.newPins = deriveQuorumPins(s.newSecret, s.newSetId, pinPlan.formats);
  s.run.note('derive-pins', { result: pinPlan.weak ? 'override' : 'ok', detail: `new set's PINs derived (HKDF-SHA-256): ${pinPlan.detail}${pinPlan.weak ? '; --accept-weak-pins: a PIN under 64 bits was accepted because the token allows no longer one' : ''}` });
}

/** The key transition statement (old and new keys, validity, ceremony ID), signed by the root key and staged. */
export async function signTransition(s: RenewState): Promise<void> {
  const { o, run, now, staged } = s;
  const { config } = o;
  const { status, window, inForce, newCustodians, sessionId } = s.preview;
  const bound = s.bound!;
  const buildKey = s.buildKey;
  const payloadKey = s.payloadKey;
  const transition = {
    format: 'ceremony-key-transition/1',
    ceremony: run.record.id,
    time: now.toISOString(),
    root: s.rootFingerprint,
    previousSubkeys: status.subkeys.map((k) => ({ fingerprint: k.fingerprint, expires: k.expires?.toISOString() ?? null })),
    newSubkey: { fingerprint: bound.key.fingerprint, validFrom: window.validFrom.toISOString(), validUntil: window.validUntil.toISOString() },
    ...(buildKey ? { buildSubkey: buildKey.transition } : {}),
    ...(payloadKey ? { newPayloadKey: { label: payloadKey.key.label, spkiSha256: spkiSha256(s.signing!, payloadKey.key.handle), publicKeyPem: payloadKey.pem } } : {}),
    quorum: { previousSet: inForce.setId, newSet: s.newSetId!, threshold: config.quorum.threshold, custodians: newCustodians, sessionId: sessionId.hex },
  };
  const transitionText = JSON.stringify(transition, null, 2) + '\n';
  await run.step('sign-transition', 'signing the key transition statement with the root key', async () => {
    const sig = await createDetachedSignature({ signer: s.rootSigner!, key: (await certificateKeys(bound.certificate)).find((k) => k.role === 'primary')!, input: Buffer.from(transitionText), created: o.now(), armor: true });
    const check = await verifyDetachedSignature({ certificate: bound.certificate, signature: sig.output, content: Buffer.from(transitionText) });
    if (check.role !== 'primary') throw new CeremonyError('SELF_CHECK_FAILED', 'the transition statement is not signed by the root key');
    staged.write('transition.json', transitionText);
    staged.write('transition.json.asc', sig.output);
  }, () => ({ detail: 'transition.json signed by the root key and checked', outputs: [{ name: 'transition.json', sha256: hashBytes('sha256', Buffer.from(transitionText)).toString('hex'), size: Buffer.byteLength(transitionText) }] }));
  inject(s, 'sign-transition');
}

/** Re-split to the config's custodians and threshold; every new share, as staged, takes part in a recombination. */
export async function splitNewSet(s: RenewState): Promise<void> {
  const { o, run } = s;
  const { config } = o;
  const { inForce, newCustodians } = s.preview;
  const newSecret = s.newSecret!;
  const split = await run.step('split', `splitting the new secret ${config.quorum.threshold}-of-${newCustodians.length}`, () => splitForConfig(newSecret, config, s.newSetId!),
    (p) => ({ detail: `new set ${formatQuorumId(p.descriptor.setId)}: ${p.shares.length} shares, any ${p.descriptor.threshold} recover it`, quorum: { threshold: p.descriptor.threshold, total: p.shares.length, custodians: p.descriptor.custodians } }));
  inject(s, 'split');
  const stagedShares = await stageShares(s.staged, split, config, { rootFingerprint: s.rootFingerprint });
  await run.step('recombine-check', 'recombining every new share, read back as it will be handed out', () => recombineStagedShares(split.descriptor, newSecret, stagedShares),
    (c) => `every new share, as written, took part in a successful recombination (${c} k-subsets checked against the new secret and the commitment)`);
  inject(s, 'recombine-check');
  s.descriptor = { ...split.descriptor, version: 2, signingSoPin: signingSoHolder(inForce) === 'quorum' || s.operatorSoPin ? 'quorum' : 'operator', pins: s.pinPlan.formats };
  s.handed = stagedShares.handed;
}

/** The renewed certificate (every earlier subkey kept), staged with the other outputs. */
export function stageCertificate(s: RenewState): void {
  s.armored = exportCertificate(s.bound!.certificate, 'armored');
  s.staged.write('certificate.asc', s.armored);
}

/** Commit: rotate both PINs, then write what is in force. From here a failure restores the old PINs. */
export async function rotatePins(s: RenewState): Promise<void> {
  const { o, root, attempts } = s;
  const { config } = o;
  const { inForce } = s.preview;
  const oldPins = s.oldPins!;
  const newPins = s.newPins!;
  const signing = s.signing!;
  const bound = s.bound!;
  const sub = s.sub!;
  const descriptor = s.descriptor!;
  await s.run.step('rotate-pins', "rotating both root token PINs and the signing token's SO PIN to the new set", async () => {
    changePin(root, oldPins.userPin, newPins.userPin, 'user');
    s.pinsRotated = 'user';
    root.session.logout();
    await root.login(derivedPinSource(oldPins.soPin), attempts, {}, 'so');
    changePin(root, oldPins.soPin, newPins.soPin, 'so');
    s.pinsRotated = 'both';
    root.session.logout();
    await root.login(derivedPinSource(newPins.userPin), attempts);
    if (signingSoHolder(inForce) === 'quorum' || s.operatorSoPin) {
      s.oldSigningSo = s.operatorSoPin ? await s.operatorSoPin.read(`current SO PIN of token '${config.hsm.signingToken}': `) : Buffer.from(oldPins.signingSoPin);
      await changeSoPin(signing, s.oldSigningSo, newPins.signingSoPin, attempts, s.operatorSoPin?.kind ?? 'derived');
      s.signingSoRotated = true;
      await signing.login(s.signingPin.replay(), attempts);
    }
    inject(s, 'rotate-pins');
    // Handles of private objects do not survive a logout (PKCS#11 v2.40 §5.6): look the key up again.
    const rootKeyAgain = findPrivateKey(root, { object: ROOT_KEY_LABEL, extraPath: [], extraQuery: [] });
    await writeQuorumSet(root, descriptor, new TokenKeySigner(root, rootKeyAgain, o.now));
    storeCertificate(root, rootKeyAgain, bound.certificate, (await certificateKeys(bound.certificate)).find((k) => k.role === 'primary')!);
    // Private handles on the signing token did not survive its SO login either: look the subkey up again.
    const subAgain = findPrivateKey(signing, { object: sub.key.label, id: sub.key.id, extraPath: [], extraQuery: [] });
    storeCertificate(signing, subAgain, bound.certificate, bound.key);
  }, () => ({ detail: `root user and SO PINs${s.signingSoRotated ? " and the signing token's SO PIN" : ''} rotated; quorum set ${formatQuorumId(descriptor.setId)} and the renewed certificate are in force; shares of set ${formatQuorumId(inForce.setId)} are now worthless`, quorum: { threshold: descriptor.threshold, total: descriptor.custodians.length, custodians: descriptor.custodians } }));
  s.committed = true;
}

/** Hand out the new shares, move every staged output into the out dir, and put them on record. */
export async function writeOutputs(s: RenewState): Promise<Omit<RenewResult, 'record'>> {
  const { o, run } = s;
  const { config } = o;
  const handed = s.handed!;
  const sub = s.sub!;
  const bound = s.bound!;
  const payloadKey = s.payloadKey;
  const buildKey = s.buildKey;
  for (const h of handed) run.note('hand-out-share', { detail: `new share ${h.index} for ${h.custodian}${h.encrypted ? ', encrypted to the custodian\'s OpenPGP key' : ''}`, actor: { role: 'custodian', name: h.custodian } });
  run.note('export-certificate', { detail: `renewed certificate with ${s.previousSubkeys.length + 1} subkeys`, key: { fingerprint: s.rootFingerprint } });
  // Issue 11: a backup made before now lacks the new subkey and opens with the superseded shares.
  run.note('write-output', { result: 'warning', detail: BACKUP_STALE_AFTER_RENEWAL });

  const written = await run.step('write-output', `writing the outputs to ${o.outDir}`, () => s.staged.commit(), (files) => `${files.length} files written`);
  for (const f of written) if (!f.includes('/shares/')) await run.record.addArtifact(f, 'output');
  run.record.addKey('root-certificate', s.armored!);
  return { signingKeyUri: formatPkcs11Uri({ token: config.hsm.signingToken, object: sub.key.label }), ...(payloadKey ? { payloadKeyUri: formatPkcs11Uri({ token: config.hsm.signingToken, object: payloadKey.key.label }) } : {}), sessionId: s.preview.sessionId.hex, rootFingerprint: s.rootFingerprint, subkeyFingerprint: bound.key.fingerprint, ...(buildKey ? { buildSubkeyFingerprint: buildKey.transition.fingerprint } : {}), previousSubkeys: s.previousSubkeys, certificatePath: join(o.outDir, 'certificate.asc'), transitionPath: join(o.outDir, 'transition.json'), shares: handed, setId: s.descriptor!.setId };
}

/** DESIGN §3: renewal opens renewWindowDays before the newest subkey expires; earlier is recorded as a warning. */
function renewalWindowNote(run: CeremonyRun, subkeys: { fingerprint: string; expires: Date | undefined }[], windowDays: number, now: Date): void {
  const newest = subkeys.map((k) => k.expires?.getTime() ?? Infinity).reduce((a, b) => Math.max(a, b), 0);
  if (subkeys.length === 0 || newest === Infinity) return;
  const opens = newest - windowDays * DAY_MS;
  if (now.getTime() < opens) {
    run.note('load-config', { result: 'warning', detail: `renewing early: the current subkey ${formatExpiry(new Date(newest))}; the renewal window opens ${formatInstant(new Date(opens))}` });
  } else if (now.getTime() > newest) {
    run.note('load-config', { result: 'warning', detail: `the current subkey expired ${formatInstant(new Date(newest))}: releases could not be signed until now` });
  }
}
