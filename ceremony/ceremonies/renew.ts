/**
 * The renewal ceremony (DESIGN §3 Renew, issue 5): custodians and a maintainer make next year's signing
 * subkey. The quorum session is bound to its parameters (session ID); k shares of the set in force, read
 * from the root token, unlock the root key; the new subkey is bound, a transition statement is signed by
 * the root key, and both root PINs are rotated and re-split to the config's custodians and threshold, so
 * every earlier share is worthless.
 *
 * Atomicity: everything is prepared first (new subkey, binding, statement, new shares staged on disk);
 * only then are the PINs rotated and the new quorum set and certificate written to the tokens. A failure
 * before that point removes the new subkey and leaves tokens and shares in force as they were; a failure
 * while committing puts the old PINs back.
 */
import { join } from 'node:path';
import { CeremonyError } from '../errors.js';
import { wipe } from '../crypto.js';
import { openModule, resolveModulePath, type Pkcs11Module } from '../hsm/module.js';
import { changePin, changeSoPin, derivedPinSource, findTokenSlot, PinAttempts, TokenSession } from '../hsm/token.js';
import { formatPkcs11Uri } from '../hsm/uri.js';
import { choosePinSource, chooseSoPinSource, RememberedPin, type PinSource } from '../hsm/pin.js';
import { destroyObjectsLabelled, findPrivateKey, generateRsaKeyPair, publicKeyOf, publicKeyPem, type KeyInfo } from '../hsm/keys.js';
import { TokenKeySigner } from '../hsm/token-signer.js';
import { spkiSha256 } from '../hsm/key-state.js';
import { hashBytes } from '../crypto.js';
import {
  QuorumSession,
  deriveQuorumPins,
  newQuorumSecret,
  newSetId,
  confirmsQuorumSession,
  sessionConfirmationText,
  type QuorumSessionId,
  wipeQuorumPins,
  signingSoHolder,
  pinFormatsOf,
  type QuorumSetDescriptor,
  type QuorumPins,
} from '../quorum/index.js';
import { addSigningSubkey, certificateKeys, exportCertificate } from '../openpgp/build/certificate.js';
import { createDetachedSignature } from '../openpgp/build/detached.js';
import { toOpenpgpTime } from '../openpgp/build/packets.js';
import { verifyCertificate, verifyDetachedSignature } from '../openpgp/build/self-check.js';
import { findOpenpgpKeys, storeCertificate } from '../openpgp/hsm-store.js';
import type { SealedRecord } from '../audit/record.js';
import { CeremonyRun, withCeremony, type RunnableStep } from './runner.js';
import { collectQuorum } from './quorum-shares.js';
import { chooseSealKey, hsmSealer } from './seal-key.js';
import { formatExpiry, formatInstant, formatQuorumId, formatValidity } from '../read-aloud.js';
import { bindBuildSubkeyStep, checkBuildSubkeyStep, type BuildSubkeyInput } from './renew-build-subkey.js';
import { ROOT_KEY_LABEL, readQuorumState, writeQuorumSet } from './quorum-state.js';
import { previewRenewal, type RenewalPreview } from './renewal-preview.js';
import {
  generateSigningSubkey,
  recombineStagedShares,
  splitForConfig,
  stageShares,
  StagedOutputs,
  planPins,
  precheckSealKey,
  sealerForSealKey,
  type HandedOutShare,
  type QuorumCeremonyOptions,
} from './quorum-common.js';
import { DAY_MS } from '../dates.js';


/** Said at the end of every renewal (issue 11, README "Backup and restore"). */
export const BACKUP_STALE_AFTER_RENEWAL =
  'every backup made before this renewal is now stale: it lacks the new subkey and opens with the superseded shares; run ceremony backup with the new shares, then destroy the older backup files';

export interface ShareSource {
  /** How the share is named in messages and the record: a file name or "prompt 2". */
  source: string;
  text: Buffer;
}

export interface RenewOptions extends QuorumCeremonyOptions {
  /** Shares given as files (`--share`). */
  shares: ShareSource[];
  /** On a terminal: ask for more shares until k are accepted. */
  promptShare?: (have: number, need: number) => Promise<ShareSource | undefined>;
  /**
   * On a terminal: show the session ID and return what the operator typed once the custodians confirmed
   * it; the core checks the answer with confirmsQuorumSession (the same rule as `expectSessionId`).
   */
  confirmSession?: (id: QuorumSessionId) => Promise<string>;
  /**
   * The session ID as the custodians confirmed it: typed in the app, or `--session-id` for an unattended
   * run (at least its first four groups; confirmsQuorumSession).
   */
  expectSessionId?: string;
  /** Also generate a new RSA-2048 payload key with this label, announced in transition.json. */
  newPayloadKey?: string;
  /** The build server's subkey request to certify too (`--build-subkey`, issue 15). */
  buildSubkey?: BuildSubkeyInput;
  /** Test seam: throw after this step is recorded, to prove a failure anywhere leaves the state in force. */
  failAfter?: RunnableStep;
}

export interface RenewResult {
  record: SealedRecord;
  /** The `--key` URI that signs releases with the new subkey, and `--key` of the new payload key if one was made. */
  signingKeyUri: string;
  payloadKeyUri?: string;
  sessionId: string;
  rootFingerprint: string;
  subkeyFingerprint: string;
  buildSubkeyFingerprint?: string;
  previousSubkeys: string[];
  certificatePath: string;
  transitionPath: string;
  shares: HandedOutShare[];
  setId: string;
}

export async function runRenew(o: RenewOptions): Promise<RenewResult> {
  const { config } = o;
  StagedOutputs.assertFree(o.outDir, ['certificate.asc', 'shares', 'transition.json', 'transition.json.asc']);
  const mod = openModule(resolveModulePath({ flag: config.hsm.module ?? o.module, env: o.env }));
  const now = o.now();

  // What is in force, from the tokens alone (no login needed: public objects).
  const root = TokenSession.open(mod, { token: config.hsm.rootToken, extraPath: [], extraQuery: [] });
  let preview: RenewalPreview;
  try {
    // Checked against the root key's signature before any share is: a replaced set is tampering, not "another split".
    preview = await previewRenewal(root, config, now);
  } catch (e) {
    root.close();
    throw e;
  }
  const { inForce, inForceState, certificate: currentCert, status, window, newCustodians, sessionId } = preview;
  const rootFingerprint = status.primary.fingerprint;
  const previousSubkeys = status.subkeys.map((s) => s.fingerprint);
  const signingPin = new RememberedPin(choosePinSource({ pinFile: o.pinFile, env: o.env, stdin: o.stdin }));
  // A set from before issue 10 leaves the signing token's SO PIN with a person: hand it over now when given.
  let operatorSoPin: PinSource | undefined;
  if (signingSoHolder(inForce) === 'operator' && (o.soPinFile || o.env.CEREMONY_SO_PIN !== undefined)) {
    operatorSoPin = chooseSoPinSource({ soPinFile: o.soPinFile, env: o.env, stdin: o.stdin });
  }
  let pinPlan: ReturnType<typeof planPins>;
  try {
    await precheckSealKey(mod, o.sealKey, now);
    // The new set's PINs, fitted to the tokens as they are (issue 10); the old ones as the set records.
    pinPlan = planPins(root.info, findTokenSlot(mod, { token: config.hsm.signingToken, extraPath: [], extraQuery: [] }).info, o.acceptWeakPins ?? false);
  } catch (e) {
    root.close();
    throw e;
  }

  const run = CeremonyRun.start({
    ...o,
    kind: 'renew',
    command: 'ceremony renew',
    quorum: { threshold: inForce.threshold, total: inForce.custodians.length, custodians: inForce.custodians },
  });
  const inject = (step: RunnableStep) => {
    if (o.failAfter === step) throw new CeremonyError('INTERNAL', `fault injected after step ${step}`);
  };
  const attempts = new PinAttempts();
  const session = new QuorumSession(inForce);
  const staged = new StagedOutputs(o.outDir);
  let oldSecret: Buffer | undefined;
  let oldPins: QuorumPins | undefined;
  let newSecret: Buffer | undefined;
  let newPins: QuorumPins | undefined;
  let signing: TokenSession | undefined;
  const created: { label: string }[] = [];
  let pinsRotated: 'none' | 'user' | 'both' = 'none';
  // The signing token's SO PIN before this renewal (derived from the old secret, or the operator's).
  let oldSigningSo: Buffer | undefined;
  let signingSoRotated = false;
  let committed = false;
  let sealer: Awaited<ReturnType<typeof hsmSealer>> | undefined;

  try {
    const { value, sealed } = await withCeremony(
      run,
      async () => {
        run.note('load-config', `config ${config.path}: new quorum ${config.quorum.threshold}-of-${newCustodians.length} (${newCustodians.join(', ')}); set in force ${inForce.threshold}-of-${inForce.custodians.length}`);
        renewalWindowNote(run, status.subkeys, config.keys.renewWindowDays, now);
        if (!inForceState.signed) {
          run.note('load-config', { result: 'warning', detail: 'the quorum set on the root token is not signed (stored before sets were signed by the root key); this renewal stores the new set signed' });
        }
        if (signingSoHolder(inForce) === 'operator') {
          run.note('load-config', {
            result: 'warning',
            detail: operatorSoPin
              ? "the signing token's SO PIN is still a person's (set made before SO PINs were quorum-held); this renewal hands it to the quorum"
              : "the signing token's SO PIN is still a person's (set made before SO PINs were quorum-held); give --so-pin-file or CEREMONY_SO_PIN at this renewal to hand it to the quorum",
          });
        }
        const buildRequest = o.buildSubkey && (await checkBuildSubkeyStep(run, o.buildSubkey, { certificate: currentCert, config, now }));

        await run.step('quorum-session', 'binding the quorum session to its parameters', async () => {
          o.reporter.step('quorum-session', 'running', `quorum session ID ${sessionId.display}  (${sessionId.words})`);
          if (o.expectSessionId !== undefined && !confirmsQuorumSession(o.expectSessionId, sessionId.hex)) {
            throw new CeremonyError('NOT_CONFIRMED', `the quorum session ID is ${sessionId.display}, not the one the custodians confirmed: the renewal parameters differ, so the ceremony stops`);
          }
          if (o.confirmSession && !confirmsQuorumSession(await o.confirmSession(sessionId), sessionId.hex)) {
            throw new CeremonyError('NOT_CONFIRMED', `the custodians did not confirm the quorum session ID (type its first groups, ${sessionConfirmationText(sessionId)}, to confirm)`);
          }
        }, () => ({
          detail: `session ${sessionId.display} for root ${rootFingerprint}, new subkey ${formatValidity(window.validFrom, window.validUntil)}, new quorum ${config.quorum.threshold}-of-${newCustodians.length}${o.confirmSession ? ', confirmed by the custodians' : o.expectSessionId ? ', matching the expected ID' : ', unattended'}`,
          quorum: { sessionId: sessionId.hex, threshold: config.quorum.threshold, total: newCustodians.length, custodians: newCustodians },
        }));

        // Shares one by one: each checked and named on arrival; a refused share changes nothing.
        const recovered = await collectQuorum(run, session, inForce, o, {
          sessionId: sessionId.hex,
          progress: (have, need) => o.reporter.progress?.('shares', have, need),
          // An unsigned set (stored before sets were signed) cannot tell "superseded share" from "replaced set".
          refused: (err) => {
            if (err.code === 'SHARE_FOREIGN' && !inForceState.signed) {
              o.reporter.warn(`the quorum set on token '${config.hsm.rootToken}' is not signed by the root key, so it may have been replaced: if this share is genuine and current, the token was tampered with`);
            }
          },
        });
        oldSecret = recovered.secret;
        for (const m of recovered.misfits) o.reporter.warn(`the share of ${m.custodian} (${m.source}) does not fit the set: it is forged or altered`);

        await run.step('derive-pins', 'deriving the root token PINs from the recovered secret', () => {
          oldPins = deriveQuorumPins(oldSecret!, inForce.setId, pinFormatsOf(inForce));
        }, () => 'derived the root user and SO PINs and the signing token\'s SO PIN (HKDF-SHA-256); no person knows any of them');
        inject('derive-pins');

        await run.step('root-login', `logging in to '${config.hsm.rootToken}' with the derived PIN`, () => root.login(derivedPinSource(oldPins!.userPin), attempts), () => `logged in to '${config.hsm.rootToken}'`);
        inject('root-login');
        const rootKey = findPrivateKey(root, { object: ROOT_KEY_LABEL, extraPath: [], extraQuery: [] });
        // Now against the private root key itself (its public half could have been swapped with the set).
        if (readQuorumState(root, { rootKey }).descriptorJson !== inForceState.descriptorJson) {
          throw new CeremonyError('TOKEN_TAMPERED', `token '${config.hsm.rootToken}' was tampered with: its quorum set changed during the ceremony; nothing was changed`);
        }
        const rootSigner = new TokenKeySigner(root, rootKey, o.now);
        const rootEntry = (await findOpenpgpKeys(root, now)).find((k) => k.key.label === ROOT_KEY_LABEL);
        if (rootEntry && !o.sealKey) sealer = await hsmSealer(root, rootEntry, o.now);

        signing = await run.step('hsm-login', `logging in to the signing token '${config.hsm.signingToken}'`, async () => {
          const ts = TokenSession.open(mod, { token: config.hsm.signingToken, extraPath: [], extraQuery: [] });
          await ts.login(signingPin, attempts, { warn: (m) => o.reporter.warn(m) });
          return ts;
        }, () => ({ detail: `logged in to '${config.hsm.signingToken}' (${signingPin.kind} PIN)`, actor: { role: 'maintainer' } }));
        if (o.sealKey) sealer = await sealerForSealKey(o.sealKey, [root, signing!], o.now);

        const sub = await run.step('generate-key', 'generating the new signing subkey (RSA-4096) on the signing token', () => {
          const made = generateSigningSubkey(signing!, config, now, (m) => o.reporter.warn(m));
          created.push({ label: made.key.label });
          return made;
        }, (s) => ({ detail: `signing subkey '${s.key.label}' generated, ${formatValidity(window.validFrom, window.validUntil)}`, key: { uri: s.key.uri, label: s.key.label, validFrom: window.validFrom.toISOString(), validUntil: window.validUntil.toISOString() } }));
        let payloadKey: { key: KeyInfo; pem: string } | undefined;
        if (o.newPayloadKey) {
          payloadKey = await run.step('generate-key', `generating the new payload key '${o.newPayloadKey}' (RSA-2048)`, () => {
            const made = generateRsaKeyPair(signing!, { label: o.newPayloadKey!, bits: 2048, role: 'payload', validDays: window.tokenDays, now, warn: (m) => o.reporter.warn(m) });
            created.push({ label: made.label });
            return { key: made, pem: publicKeyPem(publicKeyOf(signing!, made.handle)) };
          }, (p) => ({ detail: `payload key '${p.key.label}' generated`, key: { uri: p.key.uri, label: p.key.label, validFrom: window.validFrom.toISOString(), validUntil: window.validUntil.toISOString() } }));
        }
        inject('generate-key');

        const subCreated = toOpenpgpTime(now);
        const bound = await run.step('bind-subkey', 'binding the new subkey to the root key, keeping the earlier subkeys', async () => {
          const built = await addSigningSubkey(currentCert, { primary: rootSigner, subkey: sub.signer, subkeyCreated: subCreated, expires: window.validUntil, now: subCreated });
          const check = await verifyCertificate(built.certificate, subCreated);
          if (!check.subkeys.some((s) => s.fingerprint === built.key.fingerprint && s.canSign)) throw new CeremonyError('SELF_CHECK_FAILED', 'the renewed certificate does not verify with its new subkey binding');
          return built;
        }, (b) => ({ detail: `subkey ${b.key.fingerprint} bound to root ${rootFingerprint}; ${previousSubkeys.length} earlier subkey(s) kept`, key: { fingerprint: b.key.fingerprint, validFrom: window.validFrom.toISOString(), validUntil: window.validUntil.toISOString() } }));
        const buildKey = buildRequest && (await bindBuildSubkeyStep(run, buildRequest, { built: bound, rootSigner, window, now: subCreated }));
        if (buildKey) bound.certificate = buildKey.certificate;
        inject('bind-subkey');

        // New quorum secret and set: made now, committed only after everything else is ready.
        const newSetIdValue = newSetId();
        newSecret = newQuorumSecret();
        newPins = deriveQuorumPins(newSecret, newSetIdValue, pinPlan.formats);
        run.note('derive-pins', { result: pinPlan.weak ? 'override' : 'ok', detail: `new set's PINs derived (HKDF-SHA-256): ${pinPlan.detail}${pinPlan.weak ? '; --accept-weak-pins: a PIN under 64 bits was accepted because the token allows no longer one' : ''}` });

        const transition = {
          format: 'ceremony-key-transition/1',
          ceremony: run.record.id,
          time: now.toISOString(),
          root: rootFingerprint,
          previousSubkeys: status.subkeys.map((s) => ({ fingerprint: s.fingerprint, expires: s.expires?.toISOString() ?? null })),
          newSubkey: { fingerprint: bound.key.fingerprint, validFrom: window.validFrom.toISOString(), validUntil: window.validUntil.toISOString() },
          ...(buildKey ? { buildSubkey: buildKey.transition } : {}),
          ...(payloadKey ? { newPayloadKey: { label: payloadKey.key.label, spkiSha256: spkiSha256(signing!, payloadKey.key.handle), publicKeyPem: payloadKey.pem } } : {}),
          quorum: { previousSet: inForce.setId, newSet: newSetIdValue, threshold: config.quorum.threshold, custodians: newCustodians, sessionId: sessionId.hex },
        };
        const transitionText = JSON.stringify(transition, null, 2) + '\n';
        await run.step('sign-transition', 'signing the key transition statement with the root key', async () => {
          const sig = await createDetachedSignature({ signer: rootSigner, key: (await certificateKeys(bound.certificate)).find((k) => k.role === 'primary')!, input: Buffer.from(transitionText), created: o.now(), armor: true });
          const check = await verifyDetachedSignature({ certificate: bound.certificate, signature: sig.output, content: Buffer.from(transitionText) });
          if (check.role !== 'primary') throw new CeremonyError('SELF_CHECK_FAILED', 'the transition statement is not signed by the root key');
          staged.write('transition.json', transitionText);
          staged.write('transition.json.asc', sig.output);
        }, () => ({ detail: 'transition.json signed by the root key and checked', outputs: [{ name: 'transition.json', sha256: hashBytes('sha256', Buffer.from(transitionText)).toString('hex'), size: Buffer.byteLength(transitionText) }] }));
        inject('sign-transition');

        const split = await run.step('split', `splitting the new secret ${config.quorum.threshold}-of-${newCustodians.length}`, () => splitForConfig(newSecret!, config, newSetIdValue),
          (s) => ({ detail: `new set ${formatQuorumId(s.descriptor.setId)}: ${s.shares.length} shares, any ${s.descriptor.threshold} recover it`, quorum: { threshold: s.descriptor.threshold, total: s.shares.length, custodians: s.descriptor.custodians } }));
        inject('split');
        const stagedShares = await stageShares(staged, split, config, { rootFingerprint: rootFingerprint });
        await run.step('recombine-check', 'recombining every new share, read back as it will be handed out', () => recombineStagedShares(split.descriptor, newSecret!, stagedShares),
          (c) => `every new share, as written, took part in a successful recombination (${c} k-subsets checked against the new secret and the commitment)`);
        inject('recombine-check');
        const descriptor: QuorumSetDescriptor = { ...split.descriptor, version: 2, signingSoPin: signingSoHolder(inForce) === 'quorum' || operatorSoPin ? 'quorum' : 'operator', pins: pinPlan.formats };
        const handed = stagedShares.handed;
        const armored = exportCertificate(bound.certificate, 'armored');
        staged.write('certificate.asc', armored);

        // Commit: rotate both PINs, then write what is in force. From here a failure restores the old PINs.
        await run.step('rotate-pins', "rotating both root token PINs and the signing token's SO PIN to the new set", async () => {
          changePin(root, oldPins!.userPin, newPins!.userPin, 'user');
          pinsRotated = 'user';
          root.session.logout();
          await root.login(derivedPinSource(oldPins!.soPin), attempts, {}, 'so');
          changePin(root, oldPins!.soPin, newPins!.soPin, 'so');
          pinsRotated = 'both';
          root.session.logout();
          await root.login(derivedPinSource(newPins!.userPin), attempts);
          if (signingSoHolder(inForce) === 'quorum' || operatorSoPin) {
            oldSigningSo = operatorSoPin ? await operatorSoPin.read(`current SO PIN of token '${config.hsm.signingToken}': `) : Buffer.from(oldPins!.signingSoPin);
            await changeSoPin(signing!, oldSigningSo, newPins!.signingSoPin, attempts, operatorSoPin?.kind ?? 'derived');
            signingSoRotated = true;
            await signing!.login(signingPin.replay(), attempts);
          }
          inject('rotate-pins');
          // Handles of private objects do not survive a logout (PKCS#11 v2.40 §5.6): look the key up again.
          const rootKeyAgain = findPrivateKey(root, { object: ROOT_KEY_LABEL, extraPath: [], extraQuery: [] });
          await writeQuorumSet(root, descriptor, new TokenKeySigner(root, rootKeyAgain, o.now));
          storeCertificate(root, rootKeyAgain, bound.certificate, (await certificateKeys(bound.certificate)).find((k) => k.role === 'primary')!);
          // Private handles on the signing token did not survive its SO login either: look the subkey up again.
          const subAgain = findPrivateKey(signing!, { object: sub.key.label, id: sub.key.id, extraPath: [], extraQuery: [] });
          storeCertificate(signing!, subAgain, bound.certificate, bound.key);
        }, () => ({ detail: `root user and SO PINs${signingSoRotated ? " and the signing token's SO PIN" : ''} rotated; quorum set ${formatQuorumId(descriptor.setId)} and the renewed certificate are in force; shares of set ${formatQuorumId(inForce.setId)} are now worthless`, quorum: { threshold: descriptor.threshold, total: descriptor.custodians.length, custodians: descriptor.custodians } }));
        committed = true;
        for (const h of handed) run.note('hand-out-share', { detail: `new share ${h.index} for ${h.custodian}${h.encrypted ? ', encrypted to the custodian\'s OpenPGP key' : ''}`, actor: { role: 'custodian', name: h.custodian } });
        run.note('export-certificate', { detail: `renewed certificate with ${previousSubkeys.length + 1} subkeys`, key: { fingerprint: rootFingerprint } });
        // Issue 11: a backup made before now lacks the new subkey and opens with the superseded shares.
        run.note('write-output', { result: 'warning', detail: BACKUP_STALE_AFTER_RENEWAL });

        const written = await run.step('write-output', `writing the outputs to ${o.outDir}`, () => staged.commit(), (files) => `${files.length} files written`);
        for (const f of written) if (!f.includes('/shares/')) await run.record.addArtifact(f, 'output');
        run.record.addKey('root-certificate', armored);
        return { signingKeyUri: formatPkcs11Uri({ token: config.hsm.signingToken, object: sub.key.label }), ...(payloadKey ? { payloadKeyUri: formatPkcs11Uri({ token: config.hsm.signingToken, object: payloadKey.key.label }) } : {}), sessionId: sessionId.hex, rootFingerprint, subkeyFingerprint: bound.key.fingerprint, ...(buildKey ? { buildSubkeyFingerprint: buildKey.transition.fingerprint } : {}), previousSubkeys, certificatePath: join(o.outDir, 'certificate.asc'), transitionPath: join(o.outDir, 'transition.json'), shares: handed, setId: descriptor.setId };
      },
      () => sealer,
      // Refused before the root key was unlocked (session not confirmed, shares refused): the maintainer's
      // PIN reaches the signing token, whose current signing key seals the record of the refusal. Never
      // after a wrong PIN: each try costs one on the token.
      async () => {
        if (signing || attempts.wrong > 0 || run.record.failedStep === 'hsm-login') return undefined;
        const ts = TokenSession.open(mod, { token: config.hsm.signingToken, extraPath: [], extraQuery: [] });
        signing = ts;
        if (signingPin.interactive) o.reporter.warn('the PIN of the signing token is asked only to seal the record of this refusal (Ctrl-C leaves it unsealed)');
        await ts.login(signingPin, attempts, { warn: (m) => o.reporter.warn(m) });
        return o.sealKey ? sealerForSealKey(o.sealKey, [ts], o.now) : hsmSealer(ts, await chooseSealKey(ts, { now: o.now() }), o.now);
      },
    );
    return { ...value, record: sealed };
  } catch (e) {
    if (!committed) {
      staged.discard();
      await rollbackRenew(mod, root, oldPins, newPins, pinsRotated, signing, created, { descriptor: inForce, certificate: currentCert }, signingSoRotated ? oldSigningSo : undefined);
    }
    throw e;
  } finally {
    session.wipe();
    wipe(oldSecret, newSecret, oldSigningSo);
    signingPin.forget();
    wipeQuorumPins(oldPins);
    wipeQuorumPins(newPins);
    root.close();
    signing?.close();
  }
}

/** Put the old PINs back (if they were changed) and remove the keys this ceremony made. */
async function rollbackRenew(
  _mod: Pkcs11Module,
  root: TokenSession,
  oldPins: QuorumPins | undefined,
  newPins: QuorumPins | undefined,
  rotated: 'none' | 'user' | 'both',
  signing: TokenSession | undefined,
  created: { label: string }[],
  inForce: { descriptor: QuorumSetDescriptor; certificate: Uint8Array },
  oldSigningSo: Buffer | undefined,
): Promise<void> {
  const attempts = new PinAttempts();
  for (const c of created) {
    try {
      if (signing) destroyObjectsLabelled(signing, c.label);
    } catch {
      // best effort
    }
  }
  try {
    if (signing && newPins && oldSigningSo) await changeSoPin(signing, newPins.signingSoPin, oldSigningSo, attempts);
  } catch {
    // best effort; the error that stopped the ceremony is reported
  }
  try {
    if (rotated !== 'none' && oldPins && newPins) {
      try {
        root.session.logout();
      } catch {
        // not logged in
      }
      if (rotated === 'both') {
        await root.login(derivedPinSource(newPins.soPin), attempts, {}, 'so');
        changePin(root, newPins.soPin, oldPins.soPin, 'so');
        root.session.logout();
      }
      await root.login(derivedPinSource(newPins.userPin), attempts);
      changePin(root, newPins.userPin, oldPins.userPin, 'user');
      // The commit may have got as far as writing the new set and certificate: put the old ones back.
      const rootKey = findPrivateKey(root, { object: ROOT_KEY_LABEL, extraPath: [], extraQuery: [] });
      await writeQuorumSet(root, inForce.descriptor, new TokenKeySigner(root, rootKey));
      const primary = (await certificateKeys(inForce.certificate)).find((k) => k.role === 'primary')!;
      storeCertificate(root, rootKey, inForce.certificate, primary);
    }
  } catch {
    // best effort; the error that stopped the ceremony is reported
  }
}

/** DESIGN §3: renewal opens renewWindowDays before the newest subkey expires; earlier is recorded as a warning. */
function renewalWindowNote(run: CeremonyRun, subkeys: { fingerprint: string; expires: Date | undefined }[], windowDays: number, now: Date): void {
  const newest = subkeys.map((s) => s.expires?.getTime() ?? Infinity).reduce((a, b) => Math.max(a, b), 0);
  if (subkeys.length === 0 || newest === Infinity) return;
  const opens = newest - windowDays * DAY_MS;
  if (now.getTime() < opens) {
    run.note('load-config', { result: 'warning', detail: `renewing early: the current subkey ${formatExpiry(new Date(newest))}; the renewal window opens ${formatInstant(new Date(opens))}` });
  } else if (now.getTime() > newest) {
    run.note('load-config', { result: 'warning', detail: `the current subkey expired ${formatInstant(new Date(newest))}: releases could not be signed until now` });
  }
}

/** The expected ID may be given as displayed (groups with dashes) or whole: the rule of confirmsQuorumSession. */
export const sessionIdMatches = confirmsQuorumSession;
