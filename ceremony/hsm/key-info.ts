/**
 * What a key on a token is, as the tool describes it (keys.ts) and checks it against its private state
 * record (key-state.ts): its attributes, its locking attributes and its role. Types, the role list and the
 * role rule only, so that both modules import it and neither imports the other for it.
 */

export interface KeyInfo {
  label: string;
  id: Buffer;
  type: 'private' | 'public';
  bits: number;
  /** First valid day (UTC midnight), if the key carries CKA_START_DATE. */
  startDate?: Date;
  /** Last valid day (UTC, inclusive), if the key carries CKA_END_DATE. */
  endDate?: Date;
  sensitive?: boolean;
  extractable?: boolean;
  /** The locking attributes as the token reports them (undefined = the module does not say). */
  protections: KeyProtections;
  /** From the key's private state record (key-state.ts), once checked in a logged-in session. */
  role?: KeyRole;
  /** 'authenticated': dates and role from the state record; 'legacy': made before records, public dates. */
  state?: 'authenticated' | 'legacy';
  /** Said at every use of a legacy key: how to migrate. */
  stateWarning?: string;
  uri: string;
  handle: Buffer;
}

export interface KeyProtections {
  modifiable?: boolean;
  copyable?: boolean;
  sensitive?: boolean;
  extractable?: boolean;
  wrapWithTrusted?: boolean;
  signRecover?: boolean;
  decrypt?: boolean;
  unwrap?: boolean;
  derive?: boolean;
  /** CKA_ALLOWED_MECHANISMS: the mechanism numbers, [] = no restriction, undefined = attribute unknown to the module. */
  allowedMechanisms?: number[];
}

/**
 * What a key is for. The role decides its template: the keys that must outlive their token (the root key,
 * the payload keys whose public half is built into deployed machines, the yearly OpenPGP signing subkeys)
 * may leave it only wrapped under a key the Security Officer marked CKA_TRUSTED (issue 11 backup); a
 * standalone OpenPGP key made by `key generate --openpgp-uid` (a seal or test key) never leaves at all.
 */
export type KeyRole = 'root' | 'signing-subkey' | 'payload' | 'openpgp-key';

export const KEY_ROLES: readonly KeyRole[] = ['root', 'signing-subkey', 'payload', 'openpgp-key'];

/** Roles whose private half is CKA_EXTRACTABLE with CKA_WRAP_WITH_TRUSTED (backup-able, issue 11). */
export function isBackupRole(role: KeyRole): boolean {
  return role !== 'openpgp-key';
}
