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
 *
 * Shape: `openRenewal` reads what is in force (before the record opens), the steps of renew-steps.ts run
 * in DESIGN order over one `RenewState`, and `runRenew` alone takes back what a failure left (staged
 * outputs, new keys, rotated PINs) and, on every path, wipes the secrets and closes the sessions.
 */
import { wipe } from '../crypto.js';
import { openModule, resolveModulePath } from '../hsm/module.js';
import { changePin, changeSoPin, derivedPinSource, findTokenSlot, PinAttempts, TokenSession } from '../hsm/token.js';
import { choosePinSource, chooseSoPinSource, RememberedPin, type PinSource } from '../hsm/pin.js';
import { destroyObjectsLabelled, findPrivateKey } from '../hsm/keys.js';
import { TokenKeySigner } from '../hsm/token-signer.js';
import { QuorumSession, confirmsQuorumSession, wipeQuorumPins, signingSoHolder } from '../quorum/index.js';
import { certificateKeys } from '../openpgp/build/certificate.js';
import { storeCertificate } from '../openpgp/hsm-store.js';
import type { RecordSealer } from '../audit/seal.js';
import { CeremonyRun, withCeremony } from './runner.js';
import { chooseSealKey, hsmSealer } from './seal-key.js';
import { ROOT_KEY_LABEL, writeQuorumSet } from './quorum-state.js';
import { previewRenewal } from './renewal-preview.js';
import { StagedOutputs, planPins, precheckSealKey, sealerForSealKey } from './quorum-common.js';
import {
  BACKUP_STALE_AFTER_RENEWAL,
  bindSubkeys,
  collectShares,
  confirmQuorumSession,
  deriveNewPins,
  deriveOldPins,
  generateKeys,
  loadConfig,
  loginSigningToken,
  rotatePins,
  signTransition,
  splitNewSet,
  stageCertificate,
  unlockRootKey,
  writeOutputs,
} from './renew-steps.js';
import type { RenewOptions, RenewResult, RenewState } from './renew-state.js';

export { BACKUP_STALE_AFTER_RENEWAL };

export type { RenewOptions, RenewResult } from './renew-state.js';
export type { ShareSource } from './quorum-shares.js';

export async function runRenew(o: RenewOptions): Promise<RenewResult> {
  const s = await openRenewal(o);
  try {
    const { value, sealed } = await withCeremony(
      s.run,
      async () => {
        await loadConfig(s);
        await confirmQuorumSession(s);
        await collectShares(s);
        await deriveOldPins(s);
        await unlockRootKey(s);
        await loginSigningToken(s);
        await generateKeys(s);
        await bindSubkeys(s);
        deriveNewPins(s);
        await signTransition(s);
        await splitNewSet(s);
        stageCertificate(s);
        await rotatePins(s);
        return writeOutputs(s);
      },
      () => s.sealer,
      () => sealRefusal(s),
    );
    return { ...value, record: sealed };
  } catch (e) {
    if (!s.committed) {
      s.staged.discard();
      await rollbackRenew(s);
    }
    throw e;
  } finally {
    s.session.wipe();
    wipe(s.oldSecret, s.newSecret, s.oldSigningSo);
    s.signingPin.forget();
    wipeQuorumPins(s.oldPins);
    wipeQuorumPins(s.newPins);
    s.root.close();
    s.signing?.close();
  }
}

/**
 * What is in force, from the tokens alone (no login needed: public objects), then the record opens. The
 * root session is closed again if anything here fails; from the record on, runRenew's finally closes it.
 */
async function openRenewal(o: RenewOptions): Promise<RenewState> {
  const { config } = o;
  StagedOutputs.assertFree(o.outDir, ['certificate.asc', 'shares', 'transition.json', 'transition.json.asc']);
  const mod = openModule(resolveModulePath({ flag: config.hsm.module ?? o.module, env: o.env }));
  const now = o.now();
  const root = TokenSession.open(mod, { token: config.hsm.rootToken, extraPath: [], extraQuery: [] });
  try {
    // Checked against the root key's signature before any share is: a replaced set is tampering, not "another split".
    const preview = await previewRenewal(root, config, now);
    const { inForce, status } = preview;
    const signingPin = new RememberedPin(choosePinSource({ pinFile: o.pinFile, env: o.env, stdin: o.stdin }));
    // A set from before issue 10 leaves the signing token's SO PIN with a person: hand it over now when given.
    let operatorSoPin: PinSource | undefined;
    if (signingSoHolder(inForce) === 'operator' && (o.soPinFile || o.env.CEREMONY_SO_PIN !== undefined)) {
      operatorSoPin = chooseSoPinSource({ soPinFile: o.soPinFile, env: o.env, stdin: o.stdin });
    }
    await precheckSealKey(mod, o.sealKey, now);
    // The new set's PINs, fitted to the tokens as they are (issue 10); the old ones as the set records.
    const pinPlan = planPins(root.info, findTokenSlot(mod, { token: config.hsm.signingToken, extraPath: [], extraQuery: [] }).info, o.acceptWeakPins ?? false);
    const run = CeremonyRun.start({
      ...o,
      kind: 'renew',
      command: 'ceremony renew',
      quorum: { threshold: inForce.threshold, total: inForce.custodians.length, custodians: inForce.custodians },
    });
    return {
      o, mod, now, root, preview, signingPin, operatorSoPin, pinPlan, run,
      rootFingerprint: status.primary.fingerprint,
      previousSubkeys: status.subkeys.map((k) => k.fingerprint),
      attempts: new PinAttempts(),
      session: new QuorumSession(inForce),
      staged: new StagedOutputs(o.outDir),
      created: [],
      pinsRotated: 'none',
      signingSoRotated: false,
      committed: false,
    };
  } catch (e) {
    root.close();
    throw e;
  }
}

/**
 * Refused before the root key was unlocked (session not confirmed, shares refused): the maintainer's
 * PIN reaches the signing token, whose current signing key seals the record of the refusal. Never
 * after a wrong PIN: each try costs one on the token.
 */
async function sealRefusal(s: RenewState): Promise<RecordSealer | undefined> {
  const { o, attempts, signingPin } = s;
  if (s.signing || attempts.wrong > 0 || s.run.record.failedStep === 'hsm-login') return undefined;
  const ts = TokenSession.open(s.mod, { token: o.config.hsm.signingToken, extraPath: [], extraQuery: [] });
  s.signing = ts;
  if (signingPin.interactive) o.reporter.warn('the PIN of the signing token is asked only to seal the record of this refusal (Ctrl-C leaves it unsealed)');
  await ts.login(signingPin, attempts, { warn: (m) => o.reporter.warn(m) });
  return o.sealKey ? sealerForSealKey(o.sealKey, [ts], o.now) : hsmSealer(ts, await chooseSealKey(ts, { now: o.now() }), o.now);
}

/** Put the old PINs back (if they were changed) and remove the keys this ceremony made. */
async function rollbackRenew(s: RenewState): Promise<void> {
  const { root, signing, oldPins, newPins, created } = s;
  const rotated = s.pinsRotated;
  const oldSigningSo = s.signingSoRotated ? s.oldSigningSo : undefined;
  const inForce = { descriptor: s.preview.inForce, certificate: s.preview.certificate };
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

/** The expected ID may be given as displayed (groups with dashes) or whole: the rule of confirmsQuorumSession. */
export const sessionIdMatches = confirmsQuorumSession;
