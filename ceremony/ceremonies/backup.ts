/**
 * The backup ceremony (issue 11): k custodians and a maintainer take every backup-able key off both
 * tokens, wrapped, into one authenticated file.
 *
 *   k shares checked against the set in force (as in renew) → PINs and backup keys derived →
 *   root user login, quorum set checked with the root key → maintainer login on the signing token →
 *   per token: SO login makes the trusted AES wrapping key, user login wraps every backup-able key
 *   (CKM_AES_KEY_WRAP_PAD), the wrapping key is destroyed → the file is MACed and created (never replacing one).
 *
 * Nothing on the tokens changes except a session object that lives for the wrap. Keys that cannot
 * leave (never extractable: made before issue 11, or standalone OpenPGP keys) are named, not skipped silently.
 */
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { CeremonyError } from '../errors.js';
import { wipe } from '../crypto.js';
import { openModule, resolveModulePath, type Pkcs11Module } from '../hsm/module.js';
import { derivedPinSource, PinAttempts, TokenSession } from '../hsm/token.js';
import { choosePinSource, RememberedPin, type PinSource } from '../hsm/pin.js';
import { findKeys, findPrivateKey, publicKeyOf, type KeyInfo } from '../hsm/keys.js';
import { authenticateKey, readKeyState } from '../hsm/key-state.js';
import { assertKeyWrapOffered, createTrustedWrappingKey, destroyWrappingKey, wrapPrivateKey, type TrustedWrappingKey } from '../hsm/wrap.js';
import { QuorumSession, deriveQuorumPins, deriveBackupKeys, pinFormatsOf, signingSoHolder, wipeBackupKeys, wipeQuorumPins, type BackupKeys, type QuorumPins, type QuorumSetDescriptor } from '../quorum/index.js';
import { readCertificate, findOpenpgpKeys } from '../openpgp/hsm-store.js';
import type { SealedRecord } from '../audit/record.js';
import type { CeremonyConfig } from '../config.js';
import { CeremonyRun, withCeremony, type CeremonyContext } from './runner.js';
import { chooseSealKey, hsmSealer } from './seal-key.js';
import { ROOT_KEY_LABEL, readQuorumState } from './quorum-state.js';
import { collectQuorum, type ShareInputs } from './quorum-shares.js';
import { sealBackup, type BackupKey, type BackupToken } from './backup-file.js';
import { createFileExclusive } from '../files.js';

export interface BackupOptions extends CeremonyContext, ShareInputs {
  config: CeremonyConfig;
  /** `--out`: the backup file to create (refused if it exists). */
  outFile: string;
}

export interface BackupResult {
  record: SealedRecord;
  path: string;
  setId: string;
  keys: { token: string; label: string; role: string }[];
  notBackedUp: { token: string; label: string; reason: string }[];
}

/**
 * What a backup needs before any share is asked for, read from public objects (no login): both tokens
 * offer CKM_AES_KEY_WRAP_PAD, and the signing token's SO PIN is held by the quorum. Returns the state of
 * the set in force, whose shares the backup takes.
 */
function checkBackupPossible(mod: Pkcs11Module, root: TokenSession, config: CeremonyConfig): ReturnType<typeof readQuorumState> {
  assertKeyWrapOffered(root);
  const signingPublic = TokenSession.open(mod, { token: config.hsm.signingToken, extraPath: [], extraQuery: [] }, false);
  try {
    assertKeyWrapOffered(signingPublic);
  } finally {
    signingPublic.close();
  }
  const state = readQuorumState(root);
  if (signingSoHolder(state.descriptor) !== 'quorum') {
    throw new CeremonyError('USAGE', `the SO PIN of token '${config.hsm.signingToken}' is still a person's (set made before SO PINs were quorum-held): a renewal hands it to the quorum; back up after it`);
  }
  return state;
}

/**
 * The set whose shares a backup takes, checked as runBackup checks it before asking for shares: what the
 * app shows when a backup is opened, so the custodians' shares can be checked one by one as they arrive.
 */
export function backupSetInForce(config: CeremonyConfig, o: Pick<CeremonyContext, 'module' | 'env'>): QuorumSetDescriptor {
  const mod = openModule(resolveModulePath({ flag: config.hsm.module ?? o.module, env: o.env }));
  const root = TokenSession.open(mod, { token: config.hsm.rootToken, extraPath: [], extraQuery: [] }, false);
  try {
    return checkBackupPossible(mod, root, config).descriptor;
  } finally {
    root.close();
  }
}

export async function runBackup(o: BackupOptions): Promise<BackupResult> {
  const { config } = o;
  const outFile = resolve(o.outFile);
  if (existsSync(outFile)) throw new CeremonyError('OUTPUT_EXISTS', `${outFile} already exists; a backup never overwrites a file`);
  const mod = openModule(resolveModulePath({ flag: config.hsm.module ?? o.module, env: o.env }));
  const now = o.now();
  const root = TokenSession.open(mod, { token: config.hsm.rootToken, extraPath: [], extraQuery: [] });
  let state: ReturnType<typeof readQuorumState>;
  try {
    state = checkBackupPossible(mod, root, config);
  } catch (e) {
    root.close();
    throw e;
  }
  const inForce = state.descriptor;
  const signingPin = new RememberedPin(choosePinSource({ pinFile: o.pinFile, env: o.env, stdin: o.stdin }));
  const run = CeremonyRun.start({
    ...o,
    kind: 'backup',
    command: 'ceremony backup',
    quorum: { threshold: inForce.threshold, total: inForce.custodians.length, custodians: inForce.custodians },
  });
  const attempts = new PinAttempts();
  const session = new QuorumSession(inForce);
  let secret: Buffer | undefined;
  let pins: QuorumPins | undefined;
  let keys: BackupKeys | undefined;
  let signing: TokenSession | undefined;
  let sealer: Awaited<ReturnType<typeof hsmSealer>> | undefined;
  try {
    const { value, sealed } = await withCeremony(
      run,
      async () => {
        run.note('load-config', `config ${config.path}: backing up tokens '${config.hsm.rootToken}' and '${config.hsm.signingToken}' under set ${inForce.setId} (${inForce.threshold}-of-${inForce.custodians.length})`);
        const recovered = await collectQuorum(run, session, inForce, o, { progress: (have, need) => o.reporter.progress?.('shares', have, need) });
        secret = recovered.secret;
        await run.step('derive-pins', 'deriving the PINs and the backup keys from the recovered secret', () => {
          pins = deriveQuorumPins(secret!, inForce.setId, pinFormatsOf(inForce));
          keys = deriveBackupKeys(secret!, inForce.setId);
        }, () => 'derived the root PINs, the SO PINs of both tokens, the wrapping key and the file MAC key (HKDF-SHA-256); no person knows any of them');
        const rootPin = derivedPinSource(pins!.userPin);
        await run.step('root-login', `logging in to '${config.hsm.rootToken}' with the derived PIN`, () => root.login(rootPin, attempts), () => `logged in to '${config.hsm.rootToken}'`);
        const rootKey = findPrivateKey(root, { object: ROOT_KEY_LABEL, extraPath: [], extraQuery: [] });
        if (readQuorumState(root, { rootKey }).descriptorJson !== state.descriptorJson) {
          throw new CeremonyError('TOKEN_TAMPERED', `token '${config.hsm.rootToken}' was tampered with: its quorum set changed during the ceremony; nothing was backed up`);
        }
        const rootEntry = (await findOpenpgpKeys(root, now)).find((k) => k.key.label === ROOT_KEY_LABEL);
        if (rootEntry) sealer = await hsmSealer(root, rootEntry, o.now);
        signing = await run.step('hsm-login', `logging in to the signing token '${config.hsm.signingToken}'`, async () => {
          const ts = TokenSession.open(mod, { token: config.hsm.signingToken, extraPath: [], extraQuery: [] });
          await ts.login(signingPin, attempts, { warn: (m) => o.reporter.warn(m) });
          return ts;
        }, () => ({ detail: `logged in to '${config.hsm.signingToken}' (${signingPin.kind} PIN)`, actor: { role: 'maintainer' } }));

        const tokens: BackupToken[] = [];
        const notBackedUp: BackupResult['notBackedUp'] = [];
        const plan: [BackupToken['token'], TokenSession, Buffer, PinSource][] = [
          ['root', root, pins!.soPin, rootPin],
          ['signing', signing!, pins!.signingSoPin, signingPin.replay()],
        ];
        for (const [which, ts, soPin, userPin] of plan) {
          const out = await run.step('wrap-keys', `wrapping the keys of '${ts.info.label}' under a trusted wrapping key its SO makes for this ceremony`, async () => {
            let wrapping: TrustedWrappingKey | undefined;
            try {
              wrapping = await createTrustedWrappingKey(ts, soPin, keys!.wrapKey, attempts);
              await ts.login(userPin, attempts);
              return { ...wrapTokenKeys(ts, wrapping), destroyed: destroyWrappingKey(wrapping) };
            } finally {
              destroyWrappingKey(wrapping);
            }
          }, (r) => ({
            detail: `${r.keys.length} key(s) of '${ts.info.label}' wrapped (${r.keys.map((k) => `${k.label} [${k.role}]`).join(', ') || 'none'}); the wrapping key was ${r.destroyed ? 'destroyed' : 'left to die with the session'}${r.skipped.length ? `; not backup-able: ${r.skipped.map((s) => s.label).join(', ')}` : ''}`,
            actor: { role: 'system' },
          }));
          tokens.push({ token: which, label: ts.info.label, keys: out.keys });
          for (const s of out.skipped) {
            notBackedUp.push({ token: ts.info.label, ...s });
            run.note('wrap-keys', { result: 'warning', detail: `key '${s.label}' on '${ts.info.label}' cannot be backed up: ${s.reason}` });
          }
        }
        if (tokens.every((t) => t.keys.length === 0)) {
          throw new CeremonyError('KEY_NOT_WRAPPABLE', `no key on '${config.hsm.rootToken}' or '${config.hsm.signingToken}' can be backed up (${notBackedUp.map((k) => k.label).join(', ')}): they are never extractable; nothing was written (README: Backup and restore)`);
        }
        // The root key handle did not survive the SO login: the sealer looks its key up again at sealing time.
        const text = sealBackup({ created: now.toISOString(), setId: inForce.setId, quorumSet: rawQuorumSet(state), tokens, notBackedUp }, keys!.macKey);
        await run.step('write-output', `writing the backup file ${outFile}`, () => createFileExclusive(outFile, text, 0o600), () => ({ detail: `backup file written (${tokens.reduce((n, t) => n + t.keys.length, 0)} keys, set ${inForce.setId})` }));
        await run.record.addArtifact(outFile, 'output');
        return {
          path: outFile,
          setId: inForce.setId,
          keys: tokens.flatMap((t) => t.keys.map((k) => ({ token: t.label, label: k.label, role: k.role }))),
          notBackedUp,
        };
      },
      () => sealer,
      // Refused before the root key was unlocked (too few shares, shares of another set): the maintainer's
      // PIN reaches the signing token, whose current signing key seals the record of the refusal, as at a
      // renewal. Never after a wrong PIN: each try costs one on the token.
      async () => {
        if (signing || attempts.wrong > 0 || run.record.failedStep === 'hsm-login') return undefined;
        const ts = TokenSession.open(mod, { token: config.hsm.signingToken, extraPath: [], extraQuery: [] });
        signing = ts;
        if (signingPin.interactive) o.reporter.warn('the PIN of the signing token is asked only to seal the record of this refusal (Ctrl-C leaves it unsealed)');
        await ts.login(signingPin, attempts, { warn: (m) => o.reporter.warn(m) });
        return hsmSealer(ts, await chooseSealKey(ts, { now: o.now() }), o.now);
      },
    );
    return { ...value, record: sealed };
  } finally {
    session.wipe();
    wipe(secret);
    wipeQuorumPins(pins);
    wipeBackupKeys(keys);
    signingPin.forget();
    root.close();
    signing?.close();
  }
}

/** The signed quorum set exactly as the root token stores it (quorum-state.ts SIGNED_SET_FORMAT). */
function rawQuorumSet(state: ReturnType<typeof readQuorumState>): string {
  if (!state.signed || !state.signature) throw new CeremonyError('USAGE', 'the quorum set on the root token is not signed yet: a renewal stores it signed; back up after it');
  return JSON.stringify({ format: 'ceremony-quorum-set/signed-1', descriptor: state.descriptorJson, signature: state.signature });
}

/** Wrap every backup-able private key on a logged-in token; name the others. */
function wrapTokenKeys(ts: TokenSession, wrapping: TrustedWrappingKey): { keys: BackupKey[]; skipped: { label: string; reason: string }[] } {
  const keys: BackupKey[] = [];
  const skipped: { label: string; reason: string }[] = [];
  for (const found of findKeys(ts, { type: 'private', extraPath: [], extraQuery: [] })) {
    const k = authenticateKey(ts, found);
    const reason = notBackupable(k);
    if (reason) {
      skipped.push({ label: k.label, reason });
      continue;
    }
    const record = readKeyState(ts, k.label)!;
    const certificate = readCertificate(ts, k.label);
    keys.push({
      label: k.label,
      id: k.id.toString('hex'),
      role: k.role as BackupKey['role'],
      bits: record.bits as BackupKey['bits'],
      startDate: record.startDate,
      endDate: record.endDate,
      publicKey: publicKeyOf(ts, k.handle).export({ type: 'spki', format: 'der' }).toString('base64'),
      keyState: JSON.stringify(record),
      certificate: certificate ? Buffer.from(certificate).toString('base64') : null,
      wrapped: wrapPrivateKey(wrapping, k.handle, k.label).toString('base64'),
    });
  }
  return { keys, skipped };
}

function notBackupable(k: KeyInfo): string | undefined {
  if (k.state !== 'authenticated' || !k.role) return 'made before key state records and backup-able keys (never extractable); a renewal makes backup-able successors (README: Backup and restore)';
  if (k.role === 'openpgp-key') return 'a standalone OpenPGP key (seal or test key) is never extractable by design';
  if (k.protections.extractable !== true || k.protections.wrapWithTrusted !== true) {
    return 'never extractable (the module refused CKA_WRAP_WITH_TRUSTED when it was made, or it predates backup); a renewal makes backup-able successors';
  }
  if (k.bits !== 2048 && k.bits !== 4096) return `an RSA-${k.bits} key is not a size this tool makes`;
  return undefined;
}
