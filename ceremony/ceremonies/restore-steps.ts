/**
 * The restore's steps (DESIGN §3 "Backup / restore", issue 11), in the order `runRestore` takes them, each
 * a function over one `RestoreState`: load the config → the maintainer's login on the fresh signing token
 * (both tokens checked free) → collect the shares and derive the PINs and backup keys
 * (backup-restore-steps.ts, shared with backup) → authenticate the backup file → initialise the root
 * token → replace the signing token's SO PIN with the derived one → per token, unwrap every key under a
 * trusted wrapping key its SO makes → store the signed quorum set → self-check every key → commit.
 *
 * A step reads what earlier steps put in the state and adds what it makes. What a failure must take back
 * (key objects begun, the SO PIN replaced) and the sessions opened are in the state as soon as they
 * exist, so `runRestore`'s one catch/finally sees them whichever step failed.
 */
import { createHash, createPublicKey, randomBytes, verify as verifySignature } from 'node:crypto';
import { CeremonyError } from '../errors.js';
import { digestInfo, spkiDerSha256Hex } from '../crypto.js';
import { pkcs11Failure, type Pkcs11Module } from '../hsm/module.js';
import { pkcs11 } from '../hsm/native.js';
import { changeSoPin, findFreeSlot, findTokenSlot, initializeToken, TokenSession } from '../hsm/token.js';
import { findKeys, findPrivateKey, writeDataObject } from '../hsm/keys.js';
import { authenticateKey, KEY_STATE_APPLICATION } from '../hsm/key-state.js';
import { assertKeyWrapOffered, createPublicHalf, unwrapPrivateKey, type TrustedWrappingKey } from '../hsm/wrap.js';
import { OPENPGP_APPLICATION } from '../openpgp/hsm-store.js';
import { QUORUM_APPLICATION, QUORUM_SET_LABEL, ROOT_KEY_LABEL, readQuorumState } from './quorum-state.js';
import { authenticateBackup, type BackupKey, type BackupToken } from './backup-file.js';
import { takeRootSealer, tokenCredentials, withTrustedWrappingKey } from './backup-restore-steps.js';
import type { RestoreResult, RestoreState } from './backup-restore-state.js';

/** The backup, its set and the tokens it goes onto, on record. */
export function loadConfig(s: RestoreState): void {
  const { o, opened } = s;
  const { config } = o;
  const descriptor = s.set;
  s.run.note('load-config', `backup ${o.backupFile} of set ${descriptor.setId} (${descriptor.threshold}-of-${descriptor.custodians.length}), made ${opened.body.created}; restoring onto '${config.hsm.rootToken}' and '${config.hsm.signingToken}'`);
}

/** The maintainer's login on the fresh signing token; refused if it holds keys or a root token label is in use. */
export async function loginSigningToken(s: RestoreState): Promise<void> {
  const { o, signingPin, attempts } = s;
  const { config } = o;
  s.signing = await s.run.step('hsm-login', `logging in to the fresh signing token '${config.hsm.signingToken}' and checking both tokens are free`, async () => {
    assertRootLabelFree(s.mod, config.hsm.rootToken);
    const ts = TokenSession.open(s.mod, { token: config.hsm.signingToken, extraPath: [], extraQuery: [] });
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
}

/** The file's MAC checked under the key from the secret, and each key's recorded state against the key. */
export async function authenticateBackupFile(s: RestoreState): Promise<void> {
  const { o, opened } = s;
  const descriptor = s.set;
  s.body = await s.run.step('verify-input', `authenticating ${o.backupFile}`, () => {
    const b = authenticateBackup(opened, s.keys!.macKey, o.backupFile);
    checkBackupConsistent(b.tokens, o.backupFile);
    return b;
  }, (b) => `the backup authenticates under set ${descriptor.setId}: ${b.tokens.reduce((n, t) => n + t.keys.length, 0)} keys`);
}

/** The root token made on a free slot, its user and SO PINs derived from the secret. */
export async function initRootToken(s: RestoreState): Promise<void> {
  const { mod } = s;
  const { config } = s.o;
  s.root = await s.run.step('init-token', `initialising the root token '${config.hsm.rootToken}' on a free slot with the derived PINs`, () => {
    initializeToken(mod, findFreeSlot(mod), config.hsm.rootToken, s.pins!.soPin, s.pins!.userPin);
    return TokenSession.open(mod, { token: config.hsm.rootToken, extraPath: [], extraQuery: [] });
  }, () => `root token '${config.hsm.rootToken}' initialised; its user and SO PINs are derived from the quorum secret`);
}

/** The signing token's SO PIN, as the operators set it, replaced by the one derived from the secret. */
export async function replaceSigningSoPin(s: RestoreState): Promise<void> {
  const { operatorSoPin } = s;
  const { config } = s.o;
  await s.run.step('rotate-pins', `replacing the SO PIN of '${config.hsm.signingToken}' with the one derived from the quorum secret`, async () => {
    s.oldSigningSo = await operatorSoPin.read(`SO PIN of token '${config.hsm.signingToken}': `);
    await changeSoPin(s.signing!, s.oldSigningSo, s.pins!.signingSoPin, s.attempts, operatorSoPin.kind);
    s.signingSoReplaced = true;
  }, () => ({ detail: `the SO PIN of '${config.hsm.signingToken}' is now held by the quorum`, actor: { role: 'system' } }));
}

/** Per token: every key unwrapped under a trusted wrapping key its SO makes, each listed for take-back first. */
export async function unwrapKeys(s: RestoreState): Promise<void> {
  const { created, restored } = s;
  for (const t of s.body!.tokens) {
    const ts = t.token === 'root' ? s.root! : s.signing!;
    const credentials = tokenCredentials(s, t.token);
    await s.run.step('unwrap-keys', `unwrapping ${t.keys.length} key(s) onto '${ts.info.label}' under a trusted key its SO makes for this ceremony`, () =>
      withTrustedWrappingKey(s, ts, credentials, (wrapping) => {
        for (const k of t.keys) {
          created.push({ ts, label: k.label });
          restoreKey(ts, wrapping, k);
          restored.push({ token: ts.info.label, label: k.label, role: k.role });
        }
      }),
    () => ({ detail: `${t.keys.map((k) => `${k.label} [${k.role}]`).join(', ')} restored on '${ts.info.label}' with their CKA_IDs, validity and certificates; locked and backup-able again; the wrapping key was destroyed`, actor: { role: 'system' } }));
    // The root key is back (the same key as before the loss, from a file the quorum's MAC key
    // authenticated): from here it seals the record, also of a restore that fails later and is taken
    // back, so that record is sealed like any other refusal rather than left unsealed.
    if (t.token === 'root') await takeRootSealer(s, ts, s.o.now());
  }
}

/** The signed set goes back byte for byte: its root signature holds because the root key is the same key. */
export function storeQuorumSet(s: RestoreState): void {
  writeDataObject(s.root!, { label: QUORUM_SET_LABEL, application: QUORUM_APPLICATION, value: Buffer.from(s.body!.quorumSet, 'utf8') });
}

/** Each restored key signs a test digest its recorded public half verifies; the set verifies with the root key. */
export async function selfCheckKeys(s: RestoreState): Promise<void> {
  const { restored } = s;
  const root = s.root!;
  const descriptor = s.set;
  await s.run.step('self-check', 'each restored key signs a test digest that must verify with its recorded public half', () => {
    const rootKey = findPrivateKey(root, { object: ROOT_KEY_LABEL, extraPath: [], extraQuery: [] });
    if (readQuorumState(root, { rootKey: authenticateKey(root, rootKey) }).descriptor.setId !== descriptor.setId) {
      throw new CeremonyError('SELF_CHECK_FAILED', 'the restored quorum set is not the one in the backup');
    }
    for (const t of s.body!.tokens) for (const k of t.keys) selfCheck(t.token === 'root' ? root : s.signing!, k);
  }, () => `${restored.length} keys sign and verify with their recorded public halves; the quorum set verifies with the restored root key`);
}

/** Every key is back and checked: from here nothing is taken back (the restored root key seals the record, as since unwrapKeys). */
export async function commitRestore(s: RestoreState): Promise<Omit<RestoreResult, 'record'>> {
  s.committed = true;
  return { setId: s.set.setId, restored: s.restored };
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
