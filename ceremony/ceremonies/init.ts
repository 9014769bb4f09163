/**
 * The init ceremony (DESIGN §3 Init, issue 5): custodians create the root of trust once.
 *   quorum secret (32 random bytes, memory only) → root PINs by HKDF → root token initialized on a free
 *   slot → root key (RSA-4096) generated there → OpenPGP primary certificate self-certified on the HSM →
 *   first yearly signing subkey on the signing token, bound both ways → secret split k-of-n → every share
 *   recombined → shares handed out (encrypted to a custodian's key when configured) → certificate
 *   exported → record sealed by the root key.
 * The secret and PINs live in Buffers wiped in `finally`; nothing derived from them is written anywhere.
 *
 * Shape: `openInit` refuses what it can before anything starts and opens the record, the steps of
 * init-steps.ts run in DESIGN order over one `InitState`, and `runInit` alone takes back what a failure
 * left (staged outputs, the root token, the new subkey, the signing token's SO PIN) and, on every path,
 * wipes the secrets and closes the sessions.
 */
import { CeremonyError } from '../errors.js';
import { wipe } from '../crypto.js';
import { openModule, resolveModulePath } from '../hsm/module.js';
import { changeSoPin, findFreeSlot, findTokenSlot, readTokenInfo, PinAttempts } from '../hsm/token.js';
import { choosePinSource, chooseSoPinSource, filePinSource, RememberedPin } from '../hsm/pin.js';
import { destroyObjectsLabelled } from '../hsm/keys.js';
import { wipeQuorumPins } from '../quorum/index.js';
import { CeremonyRun, withCeremony } from './runner.js';
import { StagedOutputs, planPins, precheckSealKey, type QuorumCeremonyOptions } from './quorum-common.js';
import {
  bindSubkey,
  buildCertificate,
  derivePins,
  exportPublicCertificate,
  generateRootKey,
  generateSubkey,
  handOutShares,
  initRootToken,
  loadConfig,
  loginRootToken,
  loginSigningToken,
  rotateSigningSoPin,
  splitSecret,
  writeOutputs,
} from './init-steps.js';
import type { InitResult, InitState } from './init-state.js';

export type { InitResult } from './init-state.js';

export async function runInit(o: QuorumCeremonyOptions): Promise<InitResult> {
  const s = await openInit(o);
  try {
    const { value, sealed } = await withCeremony(
      s.run,
      async () => {
        loadConfig(s);
        await derivePins(s);
        await initRootToken(s);
        await loginRootToken(s);
        await generateRootKey(s);
        await buildCertificate(s);
        await loginSigningToken(s);
        await generateSubkey(s);
        await bindSubkey(s);
        await splitSecret(s);
        handOutShares(s);
        await exportPublicCertificate(s);
        await rotateSigningSoPin(s);
        return writeOutputs(s);
      },
      () => s.sealer,
    );
    return { ...value, record: sealed };
  } catch (e) {
    s.staged.discard();
    if (!s.committed) await rollbackInit(s);
    throw e;
  } finally {
    wipe(s.secret, s.oldSigningSo);
    s.signingPin.forget();
    wipeQuorumPins(s.pins);
    s.root?.close();
    s.signing?.close();
  }
}

/**
 * Refused before anything starts (no record, nothing on a token): outputs already in the out dir, a root
 * token that already exists, no free slot, PINs that would be too weak (issue 10), a --seal-key that names
 * no key able to seal. Then the record opens.
 */
async function openInit(o: QuorumCeremonyOptions): Promise<InitState> {
  const { config } = o;
  StagedOutputs.assertFree(o.outDir, ['certificate.asc', 'root.fingerprint', 'shares']);
  const mod = openModule(resolveModulePath({ flag: config.hsm.module ?? o.module, env: o.env }));
  // Refuse before anything starts: the root token must not exist yet, and a free slot must.
  let rootExists = true;
  try {
    findTokenSlot(mod, { token: config.hsm.rootToken, extraPath: [], extraQuery: [] });
  } catch (e) {
    if (!(e instanceof CeremonyError && e.code === 'TOKEN_NOT_FOUND')) throw e;
    rootExists = false;
  }
  if (rootExists) {
    throw new CeremonyError('USAGE', `a token labelled '${config.hsm.rootToken}' already exists: init runs once; use ceremony renew`);
  }
  const freeSlot = findFreeSlot(mod);
  // PINs that fit both tokens, refused before anything starts when they would be too weak (issue 10).
  const pinPlan = planPins({ ...readTokenInfo(freeSlot), label: config.hsm.rootToken }, findTokenSlot(mod, { token: config.hsm.signingToken, extraPath: [], extraQuery: [] }).info, o.acceptWeakPins ?? false);
  const signingPin = new RememberedPin(choosePinSource({ pinFile: o.pinFile, env: o.env, stdin: o.stdin }));
  const operatorSoPin = chooseSoPinSource({ soPinFile: o.soPinFile, env: o.env, stdin: o.stdin });
  // A module whose free slots already carry an SO PIN (openCryptoki): it is replaced by the derived one.
  const rootFactorySo = o.rootSoPinFile
    ? filePinSource(o.rootSoPinFile)
    : o.env.CEREMONY_ROOT_SO_PIN !== undefined
      ? chooseSoPinSource({ env: { CEREMONY_SO_PIN: o.env.CEREMONY_ROOT_SO_PIN } })
      : undefined;
  await precheckSealKey(mod, o.sealKey, o.now());

  const run = CeremonyRun.start({
    ...o,
    kind: 'init',
    command: 'ceremony init',
    quorum: { threshold: config.quorum.threshold, total: config.quorum.custodians.length, custodians: config.quorum.custodians.map((c) => c.name) },
  });
  const attempts = new PinAttempts();
  return {
    o, mod, freeSlot, pinPlan, signingPin, operatorSoPin, rootFactorySo, run, attempts,
    staged: new StagedOutputs(o.outDir),
    signingSoRotated: false,
    committed: false,
  };
}

/**
 * A failed init leaves the signing token as it was (the new subkey and its certificate removed) and the
 * root token wiped (re-initialized with the derived SO PIN, which destroys every object on it). The
 * wiped root token keeps its label; delete it (e.g. `softhsm2-util --delete-token --token LABEL`) before
 * running init again.
 */
async function rollbackInit(s: InitState): Promise<void> {
  const { mod, pins, root, signing, subLabel } = s;
  const rootLabel = s.o.config.hsm.rootToken;
  const operatorSoPin = s.signingSoRotated ? s.oldSigningSo : undefined;
  try {
    if (signing && subLabel) destroyObjectsLabelled(signing, subLabel);
  } catch {
    // best effort: the error that stopped the ceremony is what the person must see
  }
  try {
    // The operator's SO PIN goes back: the quorum that would have held the derived one never formed.
    if (signing && pins && operatorSoPin) await changeSoPin(signing, pins.signingSoPin, operatorSoPin, new PinAttempts());
  } catch {
    // best effort
  }
  if (!pins) return;
  try {
    const { slot } = findTokenSlot(mod, { token: rootLabel, extraPath: [], extraQuery: [] });
    root?.close();
    mod.lib.C_InitToken(slot.handle, pins.soPin.toString('utf8'), rootLabel.padEnd(32, ' ').slice(0, 32));
  } catch {
    // the root token was never initialized, or cannot be reached: nothing to wipe
  }
}
