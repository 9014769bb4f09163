/**
 * `hsm keys` as a library (issue 10, issue 13 "keys people can find"): every key on a token with what a
 * person needs to use or judge it: its role in the ceremony (root, current signing subkey, superseded
 * subkey, payload key, standalone OpenPGP key, the default seal key, or not bound to any certificate), its
 * OpenPGP fingerprint, the `--key` URI to give, the protections the token reports, and whether its state
 * was checked against its private state record (only with a PIN).
 */
import { isCeremonyError } from '../errors.js';
import { findKeys, keyValidity, missingProtections, type KeyInfo, type Validity } from '../hsm/keys.js';
import { authenticateKey } from '../hsm/key-state.js';
import type { TokenSession } from '../hsm/token.js';
import { formatPkcs11Uri } from '../hsm/uri.js';
import { findOpenpgpKeys, type OpenpgpTokenKey } from './hsm-store.js';

export type ListedRole = 'root' | 'current signing subkey' | 'superseded signing subkey' | 'payload' | 'openpgp key' | 'not bound to any certificate';

export interface ListedKey {
  label: string;
  /** The URI to give as `--key` (object label on this token; the private half is found after login). */
  keyUri: string;
  role: ListedRole;
  /** The default seal key of ceremonies on this token (the newest usable OpenPGP signing key). */
  sealKey: boolean;
  fingerprint?: string;
  bits: number;
  id: string;
  validity: Validity['state'];
  startDate?: Date;
  endDate?: Date;
  /** 'authenticated': checked against the private state record; 'legacy': made before them; 'unchecked': no PIN. */
  state: 'authenticated' | 'legacy' | 'unchecked';
  halves: ('private' | 'public')[];
  extractable?: boolean;
  /** What this key lacks of the protections the tool gives its keys (empty = locked). */
  missing: string[];
  /** The module does not know CKA_ALLOWED_MECHANISMS: the key cannot be restricted to CKM_RSA_PKCS there. */
  mechanismRestrictionUnsupported: boolean;
  warnings: string[];
}

export interface TokenKeyListing {
  keys: ListedKey[];
  /** Tampering found while listing (refused with TOKEN_TAMPERED by the ceremonies); the listing still shows the rest. */
  tampered: string[];
}

export async function listTokenKeys(ts: TokenSession, now: Date, loggedIn: boolean): Promise<TokenKeyListing> {
  const tampered: string[] = [];
  let openpgp: OpenpgpTokenKey[] = [];
  try {
    openpgp = await findOpenpgpKeys(ts, now);
  } catch (e) {
    if (!isCeremonyError(e, 'TOKEN_TAMPERED')) throw e;
    tampered.push(e.message);
  }
  const all = findKeys(ts, { extraPath: [], extraQuery: [] });
  const labels = [...new Set(all.map((k) => k.label))];
  const newestSubkey = openpgp.filter((k) => k.openpgp.role === 'subkey' && k.usable).sort((a, b) => b.openpgp.created.getTime() - a.openpgp.created.getTime())[0];
  const seal = openpgp.find((k) => k.usable);
  const keys: ListedKey[] = [];
  for (const label of labels) {
    const halves = all.filter((k) => k.label === label);
    let main: KeyInfo = halves.find((k) => k.type === 'private') ?? halves[0]!;
    let state: ListedKey['state'] = 'unchecked';
    const warnings: string[] = [];
    if (main.type === 'private') {
      try {
        main = authenticateKey(ts, main);
        state = main.state ?? 'unchecked';
        if (main.stateWarning) warnings.push(main.stateWarning);
      } catch (e) {
        if (!isCeremonyError(e, 'TOKEN_TAMPERED')) throw e;
        tampered.push(e.message);
        warnings.push('TAMPERED: refused by every ceremony until investigated');
      }
    } else if (!loggedIn) {
      warnings.push('validity read from the public half without a PIN: not checked against the key state record');
    }
    const pgp = openpgp.find((k) => k.key.label === label);
    const role: ListedRole = pgp
      ? pgp.openpgp.role === 'primary'
        ? main.role === 'root' || label === 'root-key'
          ? 'root'
          : 'openpgp key'
        : pgp === newestSubkey
          ? 'current signing subkey'
          : 'superseded signing subkey'
      : main.role === 'payload' || (main.role === undefined && main.bits === 2048)
        ? 'payload'
        : 'not bound to any certificate';
    const priv = halves.find((k) => k.type === 'private');
    const missing = [...new Set(halves.flatMap((h) => missingProtections(h)))];
    const mechanismRestrictionUnsupported = priv !== undefined && priv.protections.allowedMechanisms === undefined;
    if (missing.length) warnings.push(`lacks protections the tool gives its keys: ${missing.join(', ')} (an imported key, or one made before issue 10)`);
    if (mechanismRestrictionUnsupported) warnings.push('this module does not support CKA_ALLOWED_MECHANISMS: the key cannot be restricted to CKM_RSA_PKCS');
    keys.push({
      label,
      keyUri: formatPkcs11Uri({ token: ts.info.label, object: label }),
      role,
      sealKey: seal !== undefined && seal.key.label === label,
      ...(pgp ? { fingerprint: pgp.openpgp.fingerprint } : {}),
      bits: main.bits,
      id: main.id.toString('hex'),
      validity: keyValidity(main, now).state,
      ...(main.startDate ? { startDate: main.startDate } : {}),
      ...(main.endDate ? { endDate: main.endDate } : {}),
      state,
      halves: halves.map((h) => h.type),
      ...(priv?.protections.extractable !== undefined ? { extractable: priv.protections.extractable } : {}),
      missing,
      mechanismRestrictionUnsupported,
      warnings,
    });
  }
  return { keys, tampered };
}
