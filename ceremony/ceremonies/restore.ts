/**
 * The restore ceremony (issue 11): after a token is lost, k custodians (any k of the set the backup was
 * made under: old shares keep working) and a maintainer put every key back onto fresh tokens.
 *
 *   maintainer login on the fresh signing token (operators initialised it, as for init) and refusal of a
 *   token that already holds keys or a root token label already in use → k shares checked against the set
 *   in the backup → backup file authenticated (MAC under a key from the secret) → root token initialised
 *   on a free slot with the derived PINs; the signing token's SO PIN replaced by the derived one → per
 *   token: SO makes the trusted wrapping key, user login unwraps every key with its recorded attributes
 *   (locked, backup-able again), public half, key state record and certificate → the signed quorum set
 *   stored → self-check: each key signs a test digest that verifies with its recorded public half.
 *
 * A failure before the end takes back what was created on the signing token and gives its SO PIN back
 * to the operators; a root token already initialised stays (empty of keys): delete it before retrying.
 */
import { createHash, createPublicKey, randomBytes, verify as verifySignature } from 'node:crypto';
import { CeremonyError } from '../errors.js';
import { digestInfo, spkiDerSha256Hex, wipe } from '../crypto.js';
import { readInputFile } from '../files.js';
import { openModule, pkcs11Failure, resolveModulePath, type Pkcs11Module } from '../hsm/module.js';
import { pkcs11 } from '../hsm/native.js';
import { changeSoPin, derivedPinSource, findFreeSlot, findTokenSlot, initializeToken, PinAttempts, TokenSession } from '../hsm/token.js';
import { choosePinSource, chooseSoPinSource, RememberedPin } from '../hsm/pin.js';
import { destroyObjectsLabelled, findKeys, findPrivateKey, writeDataObject } from '../hsm/keys.js';
import { authenticateKey, KEY_STATE_APPLICATION } from '../hsm/key-state.js';
import { assertKeyWrapOffered, createPublicHalf, createTrustedWrappingKey, destroyWrappingKey, unwrapPrivateKey, type TrustedWrappingKey } from '../hsm/wrap.js';
import { QuorumSession, deriveQuorumPins, deriveBackupKeys, pinFormatsOf, wipeBackupKeys, wipeQuorumPins, type BackupKeys, type QuorumPins, type QuorumSetDescriptor } from '../quorum/index.js';
import { OPENPGP_APPLICATION, findOpenpgpKeys } from '../openpgp/hsm-store.js';
import type { SealedRecord } from '../audit/record.js';
import type { CeremonyConfig } from '../config.js';
import { CeremonyRun, withCeremony, type CeremonyContext } from './runner.js';
import { hsmSealer } from './seal-key.js';
import { QUORUM_APPLICATION, QUORUM_SET_LABEL, ROOT_KEY_LABEL, parseStoredQuorumSet, readQuorumState } from './quorum-state.js';
import { collectQuorum, type ShareInputs } from './quorum-shares.js';
import { MAX_BACKUP_BYTES, authenticateBackup, parseBackup, type BackupKey, type BackupToken } from './backup-file.js';

export interface RestoreOptions extends CeremonyContext, ShareInputs {
  config: CeremonyConfig;
  /** `--backup`: the backup file. */
  backupFile: string;
  /** `--so-pin-file`: the fresh signing token's SO PIN as the operators set it (else CEREMONY_SO_PIN or a prompt). */
  soPinFile?: string;
}

export interface RestoreResult {
  record: SealedRecord;
  setId: string;
  restored: { token: string; label: string; role: string }[];
}

/**
 * A backup file read and parsed, not yet authenticated: only its set is read before the MAC is checked,
 * for it says which shares can open the file (and the app checks each share against it as it arrives).
 */
export function openBackupFile(backupFile: string): { opened: ReturnType<typeof parseBackup>; descriptor: QuorumSetDescriptor } {
  const opened = parseBackup(readInputFile(backupFile, 'backup file', MAX_BACKUP_BYTES), backupFile);
  const set = parseStoredQuorumSet(Buffer.from(opened.body.quorumSet, 'utf8'), `the quorum set in ${backupFile}`);
  if (set.descriptor.setId !== opened.body.setId) throw new CeremonyError('INPUT_MALFORMED', `${backupFile} names set ${opened.body.setId} but holds the descriptor of set ${set.descriptor.setId}`);
  return { opened, descriptor: set.descriptor };
}

export async function runRestore(o: RestoreOptions): Promise<RestoreResult> {
  const { config } = o;
  const { opened, descriptor } = openBackupFile(o.backupFile);
  const mod = openModule(resolveModulePath({ flag: config.hsm.module ?? o.module, env: o.env }));
  const signingPin = new RememberedPin(choosePinSource({ pinFile: o.pinFile, env: o.env, stdin: o.stdin }));
  const operatorSoPin = chooseSoPinSource({ soPinFile: o.soPinFile, env: o.env, stdin: o.stdin });
  const run = CeremonyRun.start({
    ...o,
    kind: 'restore',
    command: 'ceremony restore',
    quorum: { threshold: descriptor.threshold, total: descriptor.custodians.length, custodians: descriptor.custodians },
  });
  const attempts = new PinAttempts();
  const session = new QuorumSession(descriptor);
  let secret: Buffer | undefined;
  let pins: QuorumPins | undefined;
  let keys: BackupKeys | undefined;
  let signing: TokenSession | undefined;
  let root: TokenSession | undefined;
  let oldSigningSo: Buffer | undefined;
  let signingSoReplaced = false;
  let committed = false;
  const created: { ts: TokenSession; label: string }[] = [];
  let sealer: Awaited<ReturnType<typeof hsmSealer>> | undefined;
  try {
    const { value, sealed } = await withCeremony(
      run,
      async () => {
        run.note('load-config', `backup ${o.backupFile} of set ${descriptor.setId} (${descriptor.threshold}-of-${descriptor.custodians.length}), made ${opened.body.created}; restoring onto '${config.hsm.rootToken}' and '${config.hsm.signingToken}'`);
        signing = await run.step('hsm-login', `logging in to the fresh signing token '${config.hsm.signingToken}' and checking both tokens are free`, async () => {
          assertRootLabelFree(mod, config.hsm.rootToken);
          const ts = TokenSession.open(mod, { token: config.hsm.signingToken, extraPath: [], extraQuery: [] });
          try {
            assertKeyWrapOffered(ts);
            await ts.login(signingPin, attempts, { warn: (m) => o.reporter.warn(m) });
            const present = findKeys(ts, { extraPath: [], extraQuery: [] });
            if (present.length > 0) {
              throw new CeremonyError('TOKEN_NOT_FREE', `token '${ts.info.label}' already holds ${present.length} key object(s): a restore goes onto a fresh token only, so nothing was changed`);
            }
          } catch (e) {
            ts.close();
            throw e;
          }
          return ts;
        }, () => ({ detail: `logged in to '${config.hsm.signingToken}' (${signingPin.kind} PIN); it holds no keys and no token is labelled '${config.hsm.rootToken}'`, actor: { role: 'maintainer' } }));

        const recovered = await collectQuorum(run, session, descriptor, o, { progress: (have, need) => o.reporter.progress?.('shares', have, need) });
        secret = recovered.secret;
        await run.step('derive-pins', 'deriving the PINs and the backup keys from the recovered secret', () => {
          pins = deriveQuorumPins(secret!, descriptor.setId, pinFormatsOf(descriptor));
          keys = deriveBackupKeys(secret!, descriptor.setId);
        }, () => 'derived the root PINs, the SO PINs of both tokens, the wrapping key and the file MAC key (HKDF-SHA-256)');
        const body = await run.step('verify-input', `authenticating ${o.backupFile}`, () => {
          const b = authenticateBackup(opened, keys!.macKey, o.backupFile);
          checkBackupConsistent(b.tokens, o.backupFile);
          return b;
        }, (b) => `the backup authenticates under set ${descriptor.setId}: ${b.tokens.reduce((n, t) => n + t.keys.length, 0)} keys`);

        root = await run.step('init-token', `initialising the root token '${config.hsm.rootToken}' on a free slot with the derived PINs`, () => {
          initializeToken(mod, findFreeSlot(mod), config.hsm.rootToken, pins!.soPin, pins!.userPin);
          return TokenSession.open(mod, { token: config.hsm.rootToken, extraPath: [], extraQuery: [] });
        }, () => `root token '${config.hsm.rootToken}' initialised; its user and SO PINs are derived from the quorum secret`);
        await run.step('rotate-pins', `replacing the SO PIN of '${config.hsm.signingToken}' with the one derived from the quorum secret`, async () => {
          oldSigningSo = await operatorSoPin.read(`SO PIN of token '${config.hsm.signingToken}': `);
          await changeSoPin(signing!, oldSigningSo, pins!.signingSoPin, attempts, operatorSoPin.kind);
          signingSoReplaced = true;
        }, () => ({ detail: `the SO PIN of '${config.hsm.signingToken}' is now held by the quorum`, actor: { role: 'system' } }));

        const restored: RestoreResult['restored'] = [];
        for (const t of body.tokens) {
          const ts = t.token === 'root' ? root! : signing!;
          const userPin = t.token === 'root' ? derivedPinSource(pins!.userPin) : signingPin.replay();
          const soPin = t.token === 'root' ? pins!.soPin : pins!.signingSoPin;
          await run.step('unwrap-keys', `unwrapping ${t.keys.length} key(s) onto '${ts.info.label}' under a trusted key its SO makes for this ceremony`, async () => {
            let wrapping: TrustedWrappingKey | undefined;
            try {
              wrapping = await createTrustedWrappingKey(ts, soPin, keys!.wrapKey, attempts);
              await ts.login(userPin, attempts);
              for (const k of t.keys) {
                created.push({ ts, label: k.label });
                restoreKey(ts, wrapping, k);
                restored.push({ token: ts.info.label, label: k.label, role: k.role });
              }
            } finally {
              destroyWrappingKey(wrapping);
            }
          }, () => ({ detail: `${t.keys.map((k) => `${k.label} [${k.role}]`).join(', ')} restored on '${ts.info.label}' with their CKA_IDs, validity and certificates; locked and backup-able again; the wrapping key was destroyed`, actor: { role: 'system' } }));
        }
        // The signed set goes back byte for byte: its root signature holds because the root key is the same key.
        writeDataObject(root!, { label: QUORUM_SET_LABEL, application: QUORUM_APPLICATION, value: Buffer.from(body.quorumSet, 'utf8') });

        await run.step('self-check', 'each restored key signs a test digest that must verify with its recorded public half', () => {
          const rootKey = findPrivateKey(root!, { object: ROOT_KEY_LABEL, extraPath: [], extraQuery: [] });
          if (readQuorumState(root!, { rootKey: authenticateKey(root!, rootKey) }).descriptor.setId !== descriptor.setId) {
            throw new CeremonyError('SELF_CHECK_FAILED', 'the restored quorum set is not the one in the backup');
          }
          for (const t of body.tokens) for (const k of t.keys) selfCheck(t.token === 'root' ? root! : signing!, k);
        }, () => `${restored.length} keys sign and verify with their recorded public halves; the quorum set verifies with the restored root key`);
        committed = true;
        const rootEntry = (await findOpenpgpKeys(root!, o.now())).find((k) => k.key.label === ROOT_KEY_LABEL);
        if (rootEntry) sealer = await hsmSealer(root!, rootEntry, o.now);
        return { setId: descriptor.setId, restored };
      },
      () => sealer,
    );
    return { ...value, record: sealed };
  } catch (e) {
    if (!committed) await rollbackRestore(created, signing, pins, signingSoReplaced ? oldSigningSo : undefined);
    throw e;
  } finally {
    session.wipe();
    wipe(secret, oldSigningSo);
    wipeQuorumPins(pins);
    wipeBackupKeys(keys);
    signingPin.forget();
    root?.close();
    signing?.close();
  }
}

function assertRootLabelFree(mod: Pkcs11Module, label: string): void {
  try {
    findTokenSlot(mod, { token: label, extraPath: [], extraQuery: [] });
  } catch (e) {
    if (e instanceof CeremonyError && e.code === 'TOKEN_NOT_FOUND') return;
    throw e;
  }
  throw new CeremonyError('TOKEN_NOT_FREE', `a token labelled '${label}' already exists: a restore makes the root token itself on a free slot, so nothing was changed (delete the damaged token first)`);
}

/** Each key's recorded state must name the key, its ID and its public half (the MAC already holds). */
function checkBackupConsistent(tokens: BackupToken[], source: string): void {
  const which = new Set(tokens.map((t) => t.token));
  if (which.size !== 2) throw new CeremonyError('INPUT_MALFORMED', `${source} must hold the root and the signing token once each`);
  for (const t of tokens) {
    for (const k of t.keys) {
      const record = JSON.parse(k.keyState) as { label?: string; id?: string; spkiSha256?: string; role?: string };
      const spki = spkiDerSha256Hex(Buffer.from(k.publicKey, 'base64'));
      if (record.label !== k.label || record.id !== k.id || record.spkiSha256 !== spki || record.role !== k.role) {
        throw new CeremonyError('INPUT_MALFORMED', `${source}: the recorded state of key '${k.label}' does not match its label, ID or public half`);
      }
    }
  }
}

function restoreKey(ts: TokenSession, wrapping: TrustedWrappingKey, k: BackupKey): void {
  const attrs = {
    label: k.label,
    id: Buffer.from(k.id, 'hex'),
    bits: k.bits,
    role: k.role,
    startDate: k.startDate ? new Date(`${k.startDate}T00:00:00Z`) : null,
    endDate: k.endDate ? new Date(`${k.endDate}T00:00:00Z`) : null,
  };
  const jwk = createPublicKey({ key: Buffer.from(k.publicKey, 'base64'), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  unwrapPrivateKey(wrapping, Buffer.from(k.wrapped, 'base64'), attrs);
  createPublicHalf(ts, attrs, Buffer.from(jwk.n!, 'base64url'), Buffer.from(jwk.e!, 'base64url'));
  writeDataObject(ts, { label: k.label, application: KEY_STATE_APPLICATION, value: Buffer.from(k.keyState, 'utf8'), private: true });
  if (k.certificate) writeDataObject(ts, { label: k.label, application: OPENPGP_APPLICATION, value: Buffer.from(k.certificate, 'base64') });
}

/** The restored key, checked against its state record, signs a fresh digest; the recorded public half verifies it. */
function selfCheck(ts: TokenSession, k: BackupKey): void {
  const key = authenticateKey(ts, findPrivateKey(ts, { object: k.label, id: Buffer.from(k.id, 'hex'), extraPath: [], extraQuery: [] }));
  const data = randomBytes(32);
  const digest = createHash('sha256').update(data).digest();
  let signature: Buffer;
  try {
    ts.lib.C_SignInit(ts.handle, { mechanism: pkcs11.CKM_RSA_PKCS }, key.handle);
    signature = Buffer.from(ts.lib.C_Sign(ts.handle, digestInfo('sha256', digest), Buffer.alloc(k.bits / 8)));
  } catch (e) {
    throw pkcs11Failure(e, `signing a test digest with restored key '${k.label}'`);
  }
  const pub = createPublicKey({ key: Buffer.from(k.publicKey, 'base64'), format: 'der', type: 'spki' });
  if (!verifySignature('sha256', data, pub, signature)) {
    throw new CeremonyError('SELF_CHECK_FAILED', `restored key '${k.label}' on '${ts.info.label}' does not sign for its recorded public half`);
  }
}

async function rollbackRestore(created: { ts: TokenSession; label: string }[], signing: TokenSession | undefined, pins: QuorumPins | undefined, operatorSoPin: Buffer | undefined): Promise<void> {
  for (const c of created) {
    try {
      destroyObjectsLabelled(c.ts, c.label);
    } catch {
      // best effort; the error that stopped the ceremony is reported
    }
  }
  try {
    if (signing && pins && operatorSoPin) await changeSoPin(signing, pins.signingSoPin, operatorSoPin, new PinAttempts());
  } catch {
    // best effort
  }
}
