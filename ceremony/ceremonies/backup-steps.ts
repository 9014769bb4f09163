/**
 * The backup's steps (DESIGN §3 "Backup / restore", issue 11), in the order `runBackup` takes them, each a
 * function over one `BackupState`: load the config → collect the shares and derive the PINs and backup
 * keys (backup-restore-steps.ts, shared with restore) → unlock the root key (login, quorum set checked
 * with the root key) → the maintainer's login on the signing token → per token, wrap every backup-able
 * key under a trusted wrapping key its SO makes → write the MACed file (never replacing one).
 *
 * A step reads what earlier steps put in the state and adds what it makes; the sessions it opens are in
 * the state as soon as they exist, so `runBackup`'s finally closes them whichever step failed.
 */
import { CeremonyError } from '../errors.js';
import { derivedPinSource, TokenSession } from '../hsm/token.js';
import { findKeys, findPrivateKey, publicKeyOf, type KeyInfo } from '../hsm/keys.js';
import { authenticateKey, readKeyState } from '../hsm/key-state.js';
import { destroyWrappingKey, wrapPrivateKey, type TrustedWrappingKey } from '../hsm/wrap.js';
import { readCertificate } from '../openpgp/hsm-store.js';
import { ROOT_KEY_LABEL, readQuorumState, type QuorumState } from './quorum-state.js';
import { sealBackup, type BackupKey } from './backup-file.js';
import { createFileExclusive } from '../files.js';
import { takeRootSealer, tokenCredentials, withTrustedWrappingKey } from './backup-restore-steps.js';
import type { BackupResult, BackupState } from './backup-restore-state.js';

/** The config, the two tokens and the set in force, on record. */
export function loadConfig(s: BackupState): void {
  const { config } = s.o;
  const inForce = s.set;
  s.run.note('load-config', `config ${config.path}: backing up tokens '${config.hsm.rootToken}' and '${config.hsm.signingToken}' under set ${inForce.setId} (${inForce.threshold}-of-${inForce.custodians.length})`);
}

/** Log in to the root token, check its quorum set against the private root key, and take the root key's sealer. */
export async function unlockRootKey(s: BackupState): Promise<void> {
  const { root } = s;
  const { config } = s.o;
  const rootPin = derivedPinSource(s.pins!.userPin);
  await s.run.step('root-login', `logging in to '${config.hsm.rootToken}' with the derived PIN`, () => root.login(rootPin, s.attempts), () => `logged in to '${config.hsm.rootToken}'`);
  const rootKey = findPrivateKey(root, { object: ROOT_KEY_LABEL, extraPath: [], extraQuery: [] });
  if (readQuorumState(root, { rootKey }).descriptorJson !== s.inForce.descriptorJson) {
    throw new CeremonyError('TOKEN_TAMPERED', `token '${config.hsm.rootToken}' was tampered with: its quorum set changed during the ceremony; nothing was backed up`);
  }
  await takeRootSealer(s, root, s.now);
}

/** The maintainer's login to the signing token, whose keys are backed up too. */
export async function loginSigningToken(s: BackupState): Promise<void> {
  const { o, signingPin } = s;
  const { config } = o;
  s.signing = await s.run.step('hsm-login', `logging in to the signing token '${config.hsm.signingToken}'`, async () => {
    return TokenSession.openLoggedIn(s.mod, { token: config.hsm.signingToken, extraPath: [], extraQuery: [] }, signingPin, s.attempts, { warn: (m) => o.reporter.warn(m) });
  }, () => ({ detail: `logged in to '${config.hsm.signingToken}' (${signingPin.kind} PIN)`, actor: { role: 'maintainer' } }));
}

/** Per token: every backup-able key wrapped under a trusted wrapping key its SO makes; the others named. */
export async function wrapKeys(s: BackupState): Promise<void> {
  const { run, tokens, notBackedUp } = s;
  const plan = ([['root', s.root], ['signing', s.signing!]] as const).map(([which, ts]) => ({ which, ts, credentials: tokenCredentials(s, which) }));
  for (const { which, ts, credentials } of plan) {
    const out = await run.step('wrap-keys', `wrapping the keys of '${ts.info.label}' under a trusted wrapping key its SO makes for this ceremony`, () =>
      withTrustedWrappingKey(s, ts, credentials, (wrapping) => ({ ...wrapTokenKeys(ts, wrapping), destroyed: destroyWrappingKey(wrapping) })),
    (r) => ({
      detail: `${r.keys.length} key(s) of '${ts.info.label}' wrapped (${r.keys.map((k) => `${k.label} [${k.role}]`).join(', ') || 'none'}); the wrapping key was ${r.destroyed ? 'destroyed' : 'left to die with the session'}${r.skipped.length ? `; not backup-able: ${r.skipped.map((s) => s.label).join(', ')}` : ''}`,
      actor: { role: 'system' },
    }));
    tokens.push({ token: which, label: ts.info.label, keys: out.keys });
    for (const s of out.skipped) {
      notBackedUp.push({ token: ts.info.label, ...s });
      run.note('wrap-keys', { result: 'warning', detail: `key '${s.label}' on '${ts.info.label}' cannot be backed up: ${s.reason}` });
    }
  }
}

/** The file, MACed under the key from the secret, created (never replacing one) and listed as an output. */
export async function writeBackup(s: BackupState): Promise<Omit<BackupResult, 'record'>> {
  const { run, tokens, notBackedUp, outFile } = s;
  const { config } = s.o;
  const inForce = s.set;
  if (tokens.every((t) => t.keys.length === 0)) {
    throw new CeremonyError('KEY_NOT_WRAPPABLE', `no key on '${config.hsm.rootToken}' or '${config.hsm.signingToken}' can be backed up (${notBackedUp.map((k) => k.label).join(', ')}): they are never extractable; nothing was written (README: Backup and restore)`);
  }
  // The root key handle did not survive the SO login: the sealer looks its key up again at sealing time.
  const text = sealBackup({ created: s.now.toISOString(), setId: inForce.setId, quorumSet: rawQuorumSet(s.inForce), tokens, notBackedUp }, s.keys!.macKey);
  await run.step('write-output', `writing the backup file ${outFile}`, () => createFileExclusive(outFile, text, 0o600), () => ({ detail: `backup file written (${tokens.reduce((n, t) => n + t.keys.length, 0)} keys, set ${inForce.setId})` }));
  await run.record.addArtifact(outFile, 'output');
  return {
    path: outFile,
    setId: inForce.setId,
    keys: tokens.flatMap((t) => t.keys.map((k) => ({ token: t.label, label: k.label, role: k.role }))),
    notBackedUp,
  };
}

/** The signed quorum set exactly as the root token stores it (quorum-state.ts SIGNED_SET_FORMAT). */
function rawQuorumSet(state: QuorumState): string {
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
