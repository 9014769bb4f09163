/**
 * The init ceremony (DESIGN §3 Init, issue 5): custodians create the root of trust once.
 *   quorum secret (32 random bytes, memory only) → root PINs by HKDF → root token initialized on a free
 *   slot → root key (RSA-4096) generated there → OpenPGP primary certificate self-certified on the HSM →
 *   first yearly signing subkey on the signing token, bound both ways → secret split k-of-n → every share
 *   recombined → shares handed out (encrypted to a custodian's key when configured) → certificate
 *   exported → record sealed by the root key.
 * The secret and PINs live in Buffers wiped in `finally`; nothing derived from them is written anywhere.
 */
import { formatValidity } from '../read-aloud.js';
import { join } from 'node:path';
import { CeremonyError } from '../errors.js';
import { wipe } from '../crypto.js';
import { openModule, resolveModulePath } from '../hsm/module.js';
import { changeSoPin, findFreeSlot, findTokenSlot, readTokenInfo, initializeToken, PinAttempts, TokenSession, derivedPinSource } from '../hsm/token.js';
import { formatPkcs11Uri } from '../hsm/uri.js';
import { choosePinSource, chooseSoPinSource, filePinSource, RememberedPin } from '../hsm/pin.js';
import { destroyObjectsLabelled, findPrivateKey, generateRsaKeyPair } from '../hsm/keys.js';
import { TokenKeySigner } from '../hsm/token-signer.js';
import { newQuorumSecret, newSetId, deriveQuorumPins, wipeQuorumPins, type QuorumPins } from '../quorum/index.js';
import { addSigningSubkey, buildPrimaryCertificate, exportCertificate } from '../openpgp/build/certificate.js';
import { toOpenpgpTime } from '../openpgp/build/packets.js';
import { verifyCertificate } from '../openpgp/build/self-check.js';
import { storeCertificate } from '../openpgp/hsm-store.js';
import type { SealedRecord } from '../audit/record.js';
import { CeremonyRun, withCeremony } from './runner.js';
import { hsmSealer } from './seal-key.js';
import { findOpenpgpKeys } from '../openpgp/hsm-store.js';
import { ROOT_KEY_LABEL, writeQuorumSet } from './quorum-state.js';
import {
  generateSigningSubkey,
  recombineStagedShares,
  splitForConfig,
  stageShares,
  StagedOutputs,
  planPins,
  precheckSealKey,
  sealerForSealKey,
  subkeyWindow,
  type HandedOutShare,
  type QuorumCeremonyOptions,
} from './quorum-common.js';

export interface InitResult {
  record: SealedRecord;
  rootFingerprint: string;
  subkeyFingerprint: string;
  /** The `--key` URI that signs releases with the new subkey (issue 13: keys people can find). */
  signingKeyUri: string;
  certificatePath: string;
  shares: HandedOutShare[];
}

export async function runInit(o: QuorumCeremonyOptions): Promise<InitResult> {
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
  let secret: Buffer | undefined;
  let pins: QuorumPins | undefined;
  let root: TokenSession | undefined;
  let signing: TokenSession | undefined;
  let sealer: Awaited<ReturnType<typeof hsmSealer>> | undefined;
  let subLabel: string | undefined;
  // The operator's SO PIN of the signing token, held until it is replaced (and put back on failure).
  let oldSigningSo: Buffer | undefined;
  let signingSoRotated = false;
  // Once the shares are handed out the root token must stay: no rollback after this point.
  let committed = false;
  const staged = new StagedOutputs(o.outDir);
  try {
    const { value } = await withCeremony(
      run,
      async () => {
        run.note('load-config', { detail: `config ${config.path}: ${config.quorum.threshold}-of-${config.quorum.custodians.length}, root token '${config.hsm.rootToken}', signing token '${config.hsm.signingToken}'` });
        const setId = newSetId();
        await run.step('derive-pins', 'making the quorum secret and deriving the root token PINs from it', () => {
          secret = newQuorumSecret();
          pins = deriveQuorumPins(secret, setId, pinPlan.formats);
        }, () => `made a 32-byte quorum secret in memory and derived the root user and SO PINs and the signing token's SO PIN from it (HKDF-SHA-256); no person knows any of them. ${pinPlan.detail}`);
        if (pinPlan.weak) run.note('derive-pins', { result: 'override', detail: `--accept-weak-pins: a PIN under 64 bits was accepted because the token allows no longer one (${pinPlan.detail})` });

        await run.step('init-token', `initializing the root token '${config.hsm.rootToken}' on a free slot`, async () => {
          const factory = rootFactorySo ? await rootFactorySo.read('current SO PIN of the free slot: ') : undefined;
          try {
            initializeToken(mod, freeSlot, config.hsm.rootToken, pins!.soPin, pins!.userPin, factory);
          } finally {
            wipe(factory);
          }
        }, () => `initialized token '${config.hsm.rootToken}' with the derived PINs`);

        root = await run.step('root-login', `logging in to '${config.hsm.rootToken}' with the derived PIN`, async () => {
          const ts = TokenSession.open(mod, { token: config.hsm.rootToken, extraPath: [], extraQuery: [] });
          await ts.login(derivedPinSource(pins!.userPin), attempts);
          return ts;
        }, () => `logged in to '${config.hsm.rootToken}'`);

        const now = o.now();
        const created = toOpenpgpTime(now);
        const rootKey = await run.step('generate-key', 'generating the root key (RSA-4096) on the root token', () => {
          const made = generateRsaKeyPair(root!, { label: ROOT_KEY_LABEL, bits: 4096, role: 'root', now, warn: (m) => o.reporter.warn(m) });
          return findPrivateKey(root!, { object: made.label, id: made.id, extraPath: [], extraQuery: [] });
        }, (k) => ({ detail: `root key generated on '${config.hsm.rootToken}' (locked, sign-only; ${k.protections.extractable ? 'leaves the token only wrapped under a key the SO marks trusted' : 'never extractable'})`, key: { uri: k.uri, label: k.label } }));
        const rootSigner = new TokenKeySigner(root!, rootKey, o.now);

        const userId = `${config.identity.name} <${config.identity.email}>`;
        const primary = await run.step('build-certificate', `building the OpenPGP certificate for "${userId}"`, () =>
          // certify+sign: GnuPG 2.2 refuses data signatures (the record seal, transition statements) by a
          // primary without the sign flag (ERRSIG 125, wrong key usage). See the README.
          buildPrimaryCertificate({ primary: rootSigner, created, userId, keyFlags: 'certify+sign' }),
        (b) => ({ detail: `self-certified root certificate ${b.key.fingerprint}`, key: { fingerprint: b.key.fingerprint, label: ROOT_KEY_LABEL } }));

        // From here the root key can seal this record, a refusal at the signing token's login included (issue 13:
        // every refusal is sealed whenever a key can be reached). Its certificate is stored now so the sealer
        // finds it as every later ceremony will; bind-subkey replaces it with the one that has the subkey.
        storeCertificate(root!, rootKey, primary.certificate, primary.key);
        const rootAlone = (await findOpenpgpKeys(root!, now)).find((k) => k.key.label === ROOT_KEY_LABEL);
        if (rootAlone && !o.sealKey) sealer = await hsmSealer(root!, rootAlone, o.now);

        signing = await run.step('hsm-login', `logging in to the signing token '${config.hsm.signingToken}'`, async () => {
          const ts = TokenSession.open(mod, { token: config.hsm.signingToken, extraPath: [], extraQuery: [] });
          await ts.login(signingPin, attempts, { warn: (m) => o.reporter.warn(m) });
          return ts;
        }, () => `logged in to '${config.hsm.signingToken}' (${signingPin.kind} PIN)`);
        if (o.sealKey) sealer = await sealerForSealKey(o.sealKey, [root!, signing!], o.now);

        const window = subkeyWindow(config, now);
        const sub = await run.step('generate-key', 'generating the first signing subkey (RSA-4096) on the signing token', () => {
          const made = generateSigningSubkey(signing!, config, now, (m) => o.reporter.warn(m));
          subLabel = made.key.label;
          return made;
        },
          (s) => ({ detail: `signing subkey '${s.key.label}' generated, ${formatValidity(window.validFrom, window.validUntil)}`, key: { uri: s.key.uri, label: s.key.label, validFrom: window.validFrom.toISOString(), validUntil: window.validUntil.toISOString() } }));

        const bound = await run.step('bind-subkey', 'binding the subkey to the root key (binding signature and back-signature)', async () => {
          const built = await addSigningSubkey(primary.certificate, { primary: rootSigner, subkey: sub.signer, subkeyCreated: created, expires: window.validUntil, now: created });
          const status = await verifyCertificate(built.certificate, created);
          if (!status.subkeys.some((s) => s.fingerprint === built.key.fingerprint && s.canSign)) {
            throw new CeremonyError('SELF_CHECK_FAILED', 'the new certificate does not verify with its own subkey binding');
          }
          storeCertificate(root!, rootKey, built.certificate, primary.key);
          storeCertificate(signing!, sub.key, built.certificate, built.key);
          return built;
        }, (b) => ({ detail: `subkey ${b.key.fingerprint} bound to root ${primary.key.fingerprint}; certificate stored on both tokens`, key: { fingerprint: b.key.fingerprint, validFrom: window.validFrom.toISOString(), validUntil: window.validUntil.toISOString() } }));

        // The root key seals this record: find it the way every later ceremony will, from the token.
        const rootEntry = (await findOpenpgpKeys(root!, now)).find((k) => k.key.label === ROOT_KEY_LABEL);
        if (rootEntry && !o.sealKey) sealer = await hsmSealer(root!, rootEntry, o.now);

        // The PINs were derived with this set ID as salt: the split must carry the same one.
        const split = await run.step('split', `splitting the quorum secret ${config.quorum.threshold}-of-${config.quorum.custodians.length}`, () => splitForConfig(secret!, config, setId), (s) => ({ detail: `split into ${s.shares.length} shares, any ${s.descriptor.threshold} of which recover the secret`, quorum: { threshold: s.descriptor.threshold, total: s.shares.length, custodians: s.descriptor.custodians } }));

        const shareFiles = await stageShares(staged, split, config, { rootFingerprint: primary.key.fingerprint });
        await run.step('recombine-check', 'recombining every share, read back as it will be handed out, before anyone leaves', () => recombineStagedShares(split.descriptor, secret!, shareFiles),
          (c) => `every share, as written, took part in a successful recombination (${c} k-subsets checked against the secret and the commitment)`);
        // Signed by the root key: a session without a PIN can replace the object but not forge this (issue 10).
        await writeQuorumSet(root!, { ...split.descriptor, version: 2, signingSoPin: 'quorum', pins: pinPlan.formats }, rootSigner);

        const handed = shareFiles.handed;
        for (const h of handed) {
          run.note('hand-out-share', { detail: `share ${h.index} for ${h.custodian}${h.encrypted ? ', encrypted to the custodian\'s OpenPGP key' : ''}`, actor: { role: 'custodian', name: h.custodian } });
        }

        const armored = exportCertificate(bound.certificate, 'armored');
        await run.step('export-certificate', 'exporting the public certificate', () => {
          staged.write('certificate.asc', armored);
          staged.write('root.fingerprint', `${primary.key.fingerprint}\n`);
        }, () => ({ detail: `certificate.asc and root.fingerprint (${primary.key.fingerprint})`, key: { fingerprint: primary.key.fingerprint } }));

        // Last before the commit: the signing token's SO PIN passes from the operator to the quorum, so no
        // single person can re-initialise the token or make a trusted wrapping key on it (issue 10).
        await run.step('rotate-pins', `replacing the SO PIN of the signing token '${config.hsm.signingToken}' with one derived from the quorum secret`, async () => {
          oldSigningSo = await operatorSoPin.read(`current SO PIN of token '${config.hsm.signingToken}': `);
          await changeSoPin(signing!, oldSigningSo, pins!.signingSoPin, attempts, operatorSoPin.kind);
          signingSoRotated = true;
          // Back to the maintainer's login for the rest (PKCS#11 §5.6: one login state per token).
          await signing!.login(signingPin.replay(), attempts);
        }, () => ({ detail: `the signing token's SO PIN (given by ${operatorSoPin.kind}) is replaced by one derived from the quorum secret (HKDF-SHA-256); only the maintainers' user PIN is known to people`, actor: { role: 'system' } }));

        const written = await run.step('write-output', `writing the outputs to ${o.outDir}`, () => {
          committed = true;
          return staged.commit();
        }, (files) => `${files.length} files written`);
        for (const f of written) if (!f.includes('/shares/')) await run.record.addArtifact(f, 'output');
        run.record.addKey('root-certificate', armored);
        return { rootFingerprint: primary.key.fingerprint, subkeyFingerprint: bound.key.fingerprint, signingKeyUri: formatPkcs11Uri({ token: config.hsm.signingToken, object: sub.key.label }), certificatePath: join(o.outDir, 'certificate.asc'), shares: handed };
      },
      () => sealer,
    ).then((r) => ({ value: { ...r.value, record: r.sealed } }));
    return value;
  } catch (e) {
    staged.discard();
    if (!committed) await rollbackInit(mod, config.hsm.rootToken, pins, root, signing, subLabel, signingSoRotated ? oldSigningSo : undefined);
    throw e;
  } finally {
    wipe(secret, oldSigningSo);
    signingPin.forget();
    wipeQuorumPins(pins);
    root?.close();
    signing?.close();
  }
}

/**
 * A failed init leaves the signing token as it was (the new subkey and its certificate removed) and the
 * root token wiped (re-initialized with the derived SO PIN, which destroys every object on it). The
 * wiped root token keeps its label; delete it (e.g. `softhsm2-util --delete-token --token LABEL`) before
 * running init again.
 */
async function rollbackInit(
  mod: ReturnType<typeof openModule>,
  rootLabel: string,
  pins: QuorumPins | undefined,
  root: TokenSession | undefined,
  signing: TokenSession | undefined,
  subLabel: string | undefined,
  operatorSoPin: Buffer | undefined,
): Promise<void> {
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
