/**
 * Tokens: finding them by label (SoftHSM renumbers slots after C_InitToken), reading their flags,
 * opening sessions and logging in under the ceremony's PIN policy (DESIGN §4): warn on "count low" /
 * "final try" before each login, and stop the ceremony after three wrong PINs.
 */
import type * as G from 'graphene-pk11';
import type * as P from 'pkcs11js';
import { pkcs11, graphene } from './native.js';
import { CeremonyError } from '../errors.js';
import { wipe } from '../crypto.js';
import { ckrName, pkcs11Failure, type Pkcs11Module } from './module.js';
import type { PinSource } from './pin.js';
import { formatPkcs11Uri, tokenMatches, type Pkcs11Uri } from './uri.js';

export type TokenFlagName =
  | 'login-required'
  | 'user-pin-initialized'
  | 'token-initialized'
  | 'protected-authentication-path'
  | 'write-protected'
  | 'user-pin-count-low'
  | 'user-pin-final-try'
  | 'user-pin-locked'
  | 'user-pin-to-be-changed'
  | 'so-pin-count-low'
  | 'so-pin-final-try'
  | 'so-pin-locked'
  | 'so-pin-to-be-changed';

const FLAG_BITS: [TokenFlagName, number][] = [
  ['login-required', pkcs11.CKF_LOGIN_REQUIRED],
  ['user-pin-initialized', pkcs11.CKF_USER_PIN_INITIALIZED],
  ['token-initialized', pkcs11.CKF_TOKEN_INITIALIZED],
  ['protected-authentication-path', pkcs11.CKF_PROTECTED_AUTHENTICATION_PATH],
  ['write-protected', pkcs11.CKF_WRITE_PROTECTED],
  ['user-pin-count-low', pkcs11.CKF_USER_PIN_COUNT_LOW],
  ['user-pin-final-try', pkcs11.CKF_USER_PIN_FINAL_TRY],
  ['user-pin-locked', pkcs11.CKF_USER_PIN_LOCKED],
  ['user-pin-to-be-changed', pkcs11.CKF_USER_PIN_TO_BE_CHANGED],
  ['so-pin-count-low', pkcs11.CKF_SO_PIN_COUNT_LOW],
  ['so-pin-final-try', pkcs11.CKF_SO_PIN_FINAL_TRY],
  ['so-pin-locked', pkcs11.CKF_SO_PIN_LOCKED],
  ['so-pin-to-be-changed', pkcs11.CKF_SO_PIN_TO_BE_CHANGED],
];

export interface TokenInfo {
  slotId: number;
  slotDescription: string;
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  flags: TokenFlagName[];
  /** ulMinPinLen / ulMaxPinLen of CK_TOKEN_INFO (PKCS#11 v2.40 §3.2): derived PINs must fit them. */
  minPinLen: number;
  maxPinLen: number;
  uri: string;
}

function decodeFlags(bits: number): TokenFlagName[] {
  return FLAG_BITS.filter(([, bit]) => (bits & bit) !== 0).map(([name]) => name);
}

function slotNumber(slot: G.Slot): number {
  const h = slot.handle;
  return h.length >= 8 ? Number(h.readBigUInt64LE(0)) : h.readUInt32LE(0);
}

export function readTokenInfo(slot: G.Slot): TokenInfo {
  const t = slot.getToken();
  const info = {
    slotId: slotNumber(slot),
    slotDescription: slot.slotDescription.trim(),
    label: t.label.trim(),
    manufacturer: t.manufacturerID.trim(),
    model: t.model.trim(),
    serial: t.serialNumber.trim(),
    flags: decodeFlags(t.flags),
    minPinLen: t.minPinLen,
    maxPinLen: t.maxPinLen,
  };
  return { ...info, uri: formatPkcs11Uri({ token: info.label, manufacturer: info.manufacturer, serial: info.serial, model: info.model }) };
}

export function listTokens(mod: Pkcs11Module): TokenInfo[] {
  try {
    const slots = mod.graphene.getSlots(true);
    const out: TokenInfo[] = [];
    for (let i = 0; i < slots.length; i++) out.push(readTokenInfo(slots.items(i)));
    return out;
  } catch (e) {
    throw pkcs11Failure(e, 'listing slots');
  }
}

/** The slot holding the token a URI names (label, manufacturer, model, serial, or slot-id). */
export function findTokenSlot(mod: Pkcs11Module, uri: Pkcs11Uri): { slot: G.Slot; info: TokenInfo } {
  let slots: G.SlotCollection;
  try {
    slots = mod.graphene.getSlots(true);
  } catch (e) {
    throw pkcs11Failure(e, 'listing slots');
  }
  const matches: { slot: G.Slot; info: TokenInfo }[] = [];
  for (let i = 0; i < slots.length; i++) {
    const slot = slots.items(i);
    const info = readTokenInfo(slot);
    if (!info.flags.includes('token-initialized')) continue;
    if (uri.slotId !== undefined && uri.slotId !== info.slotId) continue;
    if (tokenMatches(uri, info)) matches.push({ slot, info });
  }
  const name = uri.token ?? (uri.slotId !== undefined ? `slot ${uri.slotId}` : formatPkcs11Uri(uri));
  if (matches.length === 0) {
    throw new CeremonyError('TOKEN_NOT_FOUND', `no token '${name}' was found in the PKCS#11 module ${mod.path}`);
  }
  if (matches.length > 1) {
    throw new CeremonyError('TOKEN_NOT_FOUND', `${matches.length} tokens match '${name}'; add serial= to the URI to choose one`);
  }
  return matches[0]!;
}

/** A free slot: present and not yet initialized (SoftHSM always keeps one). */
export function findFreeSlot(mod: Pkcs11Module): G.Slot {
  const slots = mod.graphene.getSlots(true);
  for (let i = 0; i < slots.length; i++) {
    const slot = slots.items(i);
    if (!decodeFlags(slot.getToken().flags).includes('token-initialized')) return slot;
  }
  throw new CeremonyError('TOKEN_NOT_FREE', `the PKCS#11 module ${mod.path} has no free (uninitialized) slot`);
}

/**
 * Counts wrong PINs across one ceremony (one command): three strikes and the ceremony stops, whatever
 * the token's own policy (SoftHSM never locks; real HSMs do, and we must not be the ones to lock them).
 */
export class PinAttempts {
  static readonly MAX_WRONG = 3;
  wrong = 0;
  get left(): number {
    return PinAttempts.MAX_WRONG - this.wrong;
  }
}

export interface LoginEvents {
  warn?(message: string): void;
  /** Called after each attempt with its outcome, for the audit log (no PIN, ever). */
  attempt?(ok: boolean, detail: { token: string; userType: 'user' | 'so'; source: PinSource['kind'] }): void;
}

export class TokenSession {
  constructor(
    readonly module: Pkcs11Module,
    readonly slot: G.Slot,
    readonly info: TokenInfo,
    readonly session: G.Session,
  ) {}

  static open(mod: Pkcs11Module, uri: Pkcs11Uri, readWrite = true): TokenSession {
    const { slot, info } = findTokenSlot(mod, uri);
    try {
      const flags = graphene.SessionFlag.SERIAL_SESSION | (readWrite ? graphene.SessionFlag.RW_SESSION : 0);
      return new TokenSession(mod, slot, info, slot.open(flags));
    } catch (e) {
      throw pkcs11Failure(e, `opening a session on token '${info.label}'`);
    }
  }

  /**
   * A session on `uri`'s token with the user logged in, or none: if the login fails (a wrong PIN, a locked
   * token, no PIN given), the session is closed before the error goes on. A session left open keeps the
   * process's login state and, on a token being re-initialized, makes C_InitToken fail (PKCS#11 v2.40 §5.6).
   */
  static async openLoggedIn(mod: Pkcs11Module, uri: Pkcs11Uri, source: PinSource, attempts: PinAttempts, events: LoginEvents = {}, readWrite = true): Promise<TokenSession> {
    const ts = TokenSession.open(mod, uri, readWrite);
    try {
      await ts.login(source, attempts, events);
      return ts;
    } catch (e) {
      ts.close();
      throw e;
    }
  }

  get handle(): Buffer {
    return this.session.handle;
  }

  get lib(): P.PKCS11 {
    return this.module.lib;
  }

  /** Fresh token flags (they change after failed logins on real HSMs). */
  flags(): TokenFlagName[] {
    return decodeFlags(this.slot.getToken().flags);
  }

  /**
   * Log in with PINs from `source`, at most as many tries as the ceremony has left. A non-interactive
   * source gives the same PIN every time, so one wrong PIN from it ends the ceremony at once.
   */
  async login(source: PinSource, attempts: PinAttempts, events: LoginEvents = {}, userType: 'user' | 'so' = 'user'): Promise<void> {
    const label = this.info.label;
    for (;;) {
      const flags = this.flags();
      const prefix = userType === 'so' ? 'so' : 'user';
      if (flags.includes(`${prefix}-pin-locked` as TokenFlagName)) {
        throw new CeremonyError('PIN_LOCKED', `the ${userType === 'so' ? 'SO ' : ''}PIN of token '${label}' is locked; the token must be reset by its security officer`);
      }
      if (flags.includes(`${prefix}-pin-final-try` as TokenFlagName)) {
        events.warn?.(`token '${label}' says the next wrong PIN will lock it (final try)`);
      } else if (flags.includes(`${prefix}-pin-count-low` as TokenFlagName)) {
        events.warn?.(`token '${label}' says wrong PINs have been entered recently (count low)`);
      }
      const pin = await source.read(`PIN for token '${label}': `);
      // An empty PIN (a stray Enter, an empty file) is never sent: on a real HSM it costs a try (issue 13).
      if (pin.length === 0) {
        if (!source.interactive) throw new CeremonyError('PIN_UNAVAILABLE', `the PIN for token '${label}' from the ${source.kind === 'env' ? 'CEREMONY_PIN variable' : `${source.kind} source`} is empty; nothing was sent to the token`);
        events.warn?.('an empty PIN is not sent to the token; type the PIN (Ctrl-C stops)');
        continue;
      }
      try {
        this.lib.C_Login(this.handle, userType === 'so' ? pkcs11.CKU_SO : pkcs11.CKU_USER, pin.toString('utf8'));
        events.attempt?.(true, { token: label, userType, source: source.kind });
        return;
      } catch (e) {
        const ckr = ckrName(e);
        if (ckr === 'CKR_USER_ALREADY_LOGGED_IN') return;
        if (ckr !== 'CKR_PIN_INCORRECT' && ckr !== 'CKR_PIN_LEN_RANGE' && ckr !== 'CKR_PIN_INVALID') {
          if (ckr === 'CKR_PIN_LOCKED') {
            throw new CeremonyError('PIN_LOCKED', `the PIN of token '${label}' is locked`, { cause: e, ckr });
          }
          throw pkcs11Failure(e, `logging in to token '${label}'`);
        }
        attempts.wrong++;
        events.attempt?.(false, { token: label, userType, source: source.kind });
        const left = attempts.left;
        if (left <= 0) {
          throw new CeremonyError('PIN_ATTEMPTS_EXHAUSTED', `wrong PIN for token '${label}'; that was the third wrong PIN, so the ceremony stops`, { cause: e, ckr });
        }
        const sentence = `wrong PIN for token '${label}' (${left} ${left === 1 ? 'try' : 'tries'} left before the ceremony stops)`;
        if (!source.interactive) throw new CeremonyError('PIN_INCORRECT', sentence, { cause: e, ckr });
        events.warn?.(sentence);
      } finally {
        wipe(pin);
      }
    }
  }

  close(): void {
    try {
      this.session.logout();
    } catch {
      // not logged in
    }
    try {
      this.session.close();
    } catch {
      // already closed
    }
  }
}

/**
 * Initialize a free slot as a token (C_InitToken, then C_InitPIN as SO), returning its session.
 * PINs are Buffers the caller wipes; pkcs11js needs strings, which live only for the call.
 */
export function initializeToken(mod: Pkcs11Module, slot: G.Slot, label: string, soPin: Buffer, userPin: Buffer, currentSoPin?: Buffer): void {
  try {
    // A slot whose token already has an SO PIN (openCryptoki ships 87654321) is initialized with that PIN
    // and the SO PIN changed right after; on SoftHSM a fresh slot takes the given PIN as its SO PIN.
    mod.lib.C_InitToken(slot.handle, (currentSoPin ?? soPin).toString('utf8'), label.padEnd(32, ' ').slice(0, 32));
  } catch (e) {
    if (ckrName(e) === 'CKR_PIN_INCORRECT') {
      throw new CeremonyError('PIN_INCORRECT', `the free slot's token already has an SO PIN (openCryptoki ships 87654321): give it with CEREMONY_ROOT_SO_PIN or --root-so-pin-file so init can replace it`, { cause: e, ckr: 'CKR_PIN_INCORRECT' });
    }
    throw pkcs11Failure(e, `initializing token '${label}'`);
  }
  let session: Buffer | undefined;
  try {
    const found = findTokenSlot(mod, { token: label, extraPath: [], extraQuery: [] });
    session = mod.lib.C_OpenSession(found.slot.handle, pkcs11.CKF_SERIAL_SESSION | pkcs11.CKF_RW_SESSION);
    mod.lib.C_Login(session, pkcs11.CKU_SO, (currentSoPin ?? soPin).toString('utf8'));
    if (currentSoPin) mod.lib.C_SetPIN(session, currentSoPin.toString('utf8'), soPin.toString('utf8'));
    mod.lib.C_InitPIN(session, userPin.toString('utf8'));
    mod.lib.C_Logout(session);
  } catch (e) {
    throw pkcs11Failure(e, `setting the user PIN of token '${label}'`);
  } finally {
    if (session) mod.lib.C_CloseSession(session);
  }
}

/**
 * C_SetPIN (PKCS#11 v2.40 §5.6): change the PIN of the user logged in on this session. The strings
 * pkcs11js needs exist only for the call; the Buffers are the caller's to wipe.
 */
export function changePin(ts: TokenSession, oldPin: Buffer, newPin: Buffer, who: 'user' | 'so'): void {
  try {
    ts.lib.C_SetPIN(ts.handle, oldPin.toString('utf8'), newPin.toString('utf8'));
  } catch (e) {
    throw pkcs11Failure(e, `changing the ${who === 'so' ? 'SO ' : ''}PIN of token '${ts.info.label}'`);
  }
}

/**
 * Change a token's SO PIN (issue 10: both SO PINs are held by the quorum). Login state is one per token
 * for the whole application (PKCS#11 v2.40 §5.6), so the user is logged out first; the session ends
 * logged out. The SO login goes through the ceremony's login path (three wrong PINs stop it); `source`
 * says where the old PIN came from, for the record.
 */
export async function changeSoPin(ts: TokenSession, oldPin: Buffer, newPin: Buffer, attempts: PinAttempts, source: PinSource['kind'] = 'derived'): Promise<void> {
  logoutQuietly(ts);
  await ts.login({ kind: source, interactive: false, read: async () => Buffer.from(oldPin) }, attempts, {}, 'so');
  try {
    changePin(ts, oldPin, newPin, 'so');
  } finally {
    logoutQuietly(ts);
  }
}

export function logoutQuietly(ts: TokenSession): void {
  try {
    ts.lib.C_Logout(ts.handle);
  } catch {
    // not logged in
  }
}

/** A PIN source for a PIN nobody types: derived from the quorum secret, used once, never stored. */
export function derivedPinSource(pin: Buffer): PinSource {
  return { kind: 'derived', interactive: false, read: async () => Buffer.from(pin) };
}
