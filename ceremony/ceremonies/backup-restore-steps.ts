/**
 * The steps backup and restore share (DESIGN §3 "Backup / restore"), each over the state both ceremonies
 * keep (`KeyCustodyState`): k shares collected into the quorum session → the PINs and the backup keys
 * derived from the secret → per token, a trusted wrapping key its SO makes for the ceremony, used under
 * the user login, then destroyed → the root key's sealer → and on every path the secrets wiped and the
 * sessions closed. One home, so a backup and a restore cannot drift apart on how a key leaves or
 * re-enters a token.
 */
import { wipe } from '../crypto.js';
import { derivedPinSource, type TokenSession } from '../hsm/token.js';
import type { PinSource } from '../hsm/pin.js';
import { createTrustedWrappingKey, destroyWrappingKey, type TrustedWrappingKey } from '../hsm/wrap.js';
import { deriveBackupKeys, deriveQuorumPins, pinFormatsOf, wipeBackupKeys, wipeQuorumPins } from '../quorum/index.js';
import { findOpenpgpKeys } from '../openpgp/hsm-store.js';
import { collectQuorum } from './quorum-shares.js';
import { hsmSealer } from './seal-key.js';
import { ROOT_KEY_LABEL } from './quorum-state.js';
import type { BackupToken } from './backup-file.js';
import type { KeyCustodyState } from './backup-restore-state.js';

/** Shares one by one, each checked against the set and named on arrival; then the secret is recovered. */
export async function collectShares(s: KeyCustodyState): Promise<void> {
  const { o } = s;
  const recovered = await collectQuorum(s.run, s.session, s.set, o, { progress: (have, need) => o.reporter.progress?.('shares', have, need) });
  s.secret = recovered.secret;
}

/** The tokens' PINs (in the formats the set records) and the backup keys (wrapping, file MAC), from the secret. */
export async function derivePinsAndBackupKeys(s: KeyCustodyState, detail: string): Promise<void> {
  const { set } = s;
  await s.run.step('derive-pins', 'deriving the PINs and the backup keys from the recovered secret', () => {
    s.pins = deriveQuorumPins(s.secret!, set.setId, pinFormatsOf(set));
    s.keys = deriveBackupKeys(s.secret!, set.setId);
  }, () => detail);
}

/** Who makes a token's trusted wrapping key (its SO, PIN derived) and who then uses it (its user). */
export function tokenCredentials(s: KeyCustodyState, which: BackupToken['token']): { soPin: Buffer; userPin: PinSource } {
  const pins = s.pins!;
  return which === 'root'
    ? { userPin: derivedPinSource(pins.userPin), soPin: pins.soPin }
    : { userPin: s.signingPin.replay(), soPin: pins.signingSoPin };
}

/**
 * The token's SO makes a trusted AES wrapping key from the derived wrapping key, the user logs in and
 * `use` wraps or unwraps under it; the wrapping key is destroyed however `use` ends.
 */
export async function withTrustedWrappingKey<T>(s: KeyCustodyState, ts: TokenSession, credentials: { soPin: Buffer; userPin: PinSource }, use: (wrapping: TrustedWrappingKey) => T): Promise<T> {
  let wrapping: TrustedWrappingKey | undefined;
  try {
    wrapping = await createTrustedWrappingKey(ts, credentials.soPin, s.keys!.wrapKey, s.attempts);
    await ts.login(credentials.userPin, s.attempts);
    return use(wrapping);
  } finally {
    destroyWrappingKey(wrapping);
  }
}

/** The root key, when it has a certificate on the root token, seals the record. */
export async function takeRootSealer(s: KeyCustodyState, root: TokenSession, now: Date): Promise<void> {
  const rootEntry = (await findOpenpgpKeys(root, now)).find((k) => k.key.label === ROOT_KEY_LABEL);
  if (rootEntry) s.sealer = await hsmSealer(root, rootEntry, s.o.now);
}

/** However the ceremony ended: every secret wiped, both sessions closed (so no token stays logged in). */
export function releaseKeyCustody(s: KeyCustodyState): void {
  s.session.wipe();
  wipe(s.secret);
  wipeQuorumPins(s.pins);
  wipeBackupKeys(s.keys);
  s.signingPin.forget();
  s.root?.close();
  s.signing?.close();
}
