/**
 * The quorum secret (DESIGN §2): 32 random bytes made inside the application, from which the three PINs no
 * person may know are derived: the root token's user and SO PINs and the signing token's SO PIN (issue 10). It lives only in Buffers that the holder wipes (`wipe` from ceremony/crypto.ts)
 * as soon as the PINs are derived; it never becomes a string.
 */
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { wipe } from '../crypto.js';
import { formatQuorumId } from '../read-aloud.js';

export const SECRET_LENGTH = 32;
/** Set IDs are 8 random bytes: enough to tell apart every split one deployment will ever make. */
export const SET_ID_LENGTH = 8;

const COMMITMENT_LABEL = Buffer.from('ceremony quorum commitment v1\0', 'ascii');
const PIN_SALT_LABEL = Buffer.from('ceremony quorum set v1\0', 'ascii');
const USER_PIN_INFO = Buffer.from('ceremony root-token user PIN v1', 'ascii');
const SO_PIN_INFO = Buffer.from('ceremony root-token SO PIN v1', 'ascii');
const SIGNING_SO_PIN_INFO = Buffer.from('ceremony signing-token SO PIN v1', 'ascii');
const BACKUP_WRAP_INFO = Buffer.from('ceremony backup AES wrapping key v1', 'ascii');
const BACKUP_MAC_INFO = Buffer.from('ceremony backup file MAC key v1', 'ascii');
/** 24 bytes of key material = 192 bits = 32 base64url characters: inside SoftHSM's 4..255 and most HSMs' limits. */
const PIN_BYTES = 24;

/** A fresh quorum secret. The caller owns it and must `wipe` it. */
export function newQuorumSecret(): Buffer {
  return randomBytes(SECRET_LENGTH);
}

/** A fresh set ID, as 16 lower-case hex characters (public; it names one split). */
export function newSetId(): string {
  return randomBytes(SET_ID_LENGTH).toString('hex');
}

export function setIdBytes(setId: string): Buffer {
  if (!/^[0-9a-f]{16}$/.test(setId)) throw new RangeError('a set ID is 16 lower-case hex characters');
  return Buffer.from(setId, 'hex');
}

/** `0f3a-9b2c-77d1-e4a0`: the set ID as people read it (one format with session IDs: read-aloud.ts). */
export function formatSetId(setId: string): string {
  return formatQuorumId(setId);
}

/**
 * The set's commitment to its secret: SHA-256("ceremony quorum commitment v1\0" ‖ setId ‖ secret), as hex.
 * It is public (in every share, and on the root token as a CKO_DATA object). It leaks nothing useful: the
 * secret is 32 uniformly random bytes, so finding it from the hash is a 2^256 search, and the PINs come from
 * HKDF with other labels, so the commitment says nothing about them either. Binding the set ID means a
 * commitment from one split can never vouch for another split's secret.
 */
export function quorumCommitment(setId: string, secret: Uint8Array): string {
  if (secret.length !== SECRET_LENGTH) throw new RangeError(`a quorum secret is ${SECRET_LENGTH} bytes`);
  return createHash('sha256').update(COMMITMENT_LABEL).update(setIdBytes(setId)).update(secret).digest('hex');
}

/** The PINs the quorum holds (issue 10): no person knows any of them. Wipe with `wipeQuorumPins`. */
export interface QuorumPins {
  /** The root token's user PIN (CKU_USER). */
  userPin: Buffer;
  /** The root token's SO PIN (CKU_SO): it could reset the user PIN, so it is as secret. */
  soPin: Buffer;
  /** The signing token's SO PIN: it could re-initialise the token or mark a wrapping key trusted (backup). */
  signingSoPin: Buffer;
}

/**
 * Every quorum-held PIN from the quorum secret (DESIGN §2), by HKDF-SHA-256 (RFC 5869):
 *   IKM  = the 32-byte secret
 *   salt = "ceremony quorum set v1\0" ‖ setId (8 bytes): binds the PINs to one split, so two sets never
 *          share PINs even if a secret were ever reused
 *   info = "ceremony root-token user PIN v1" / "ceremony root-token SO PIN v1" / "ceremony signing-token SO
 *          PIN v1": distinct labels, so knowing one PIN says nothing about another
 *   L    = 24 bytes, encoded as base64url (RFC 4648 §5) straight into a Buffer: 32 characters of [A-Za-z0-9_-].
 * The PINs are Buffers and never strings here. pkcs11js's C_Login/C_InitToken/C_SetPIN take the PIN as a JS
 * string, so the one string is made at that call and nowhere else (ceremony/hsm/token.ts); it cannot be wiped,
 * which is why it must not be kept in a variable beyond that call. The backup ceremony SO-logs in on both
 * tokens with `soPin` and `signingSoPin`.
 */
export function deriveQuorumPins(secret: Uint8Array, setId: string, formats: PinFormats = LEGACY_PIN_FORMATS): QuorumPins {
  if (secret.length !== SECRET_LENGTH) throw new RangeError(`a quorum secret is ${SECRET_LENGTH} bytes`);
  const salt = Buffer.concat([PIN_SALT_LABEL, setIdBytes(setId)]);
  return {
    userPin: derivePinIn(secret, salt, USER_PIN_INFO, formats.rootUser),
    soPin: derivePinIn(secret, salt, SO_PIN_INFO, formats.rootSo),
    signingSoPin: derivePinIn(secret, salt, SIGNING_SO_PIN_INFO, formats.signingSo),
  };
}

/**
 * How a derived PIN is written so the token accepts it (issue 10: PINs that fit the token): its alphabet
 * and length. Recorded in the quorum set descriptor (public: it says how long the PINs are, never what
 * they are), so the next ceremony derives the same PINs.
 */
export type PinAlphabet = 'base64url' | 'alnum' | 'hex' | 'digits';
export interface PinFormat {
  alphabet: PinAlphabet;
  length: number;
}
export interface PinFormats {
  rootUser: PinFormat;
  rootSo: PinFormat;
  signingSo: PinFormat;
}

const ALPHABETS: Record<PinAlphabet, Buffer> = {
  base64url: Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', 'ascii'),
  alnum: Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'ascii'),
  hex: Buffer.from('0123456789abcdef', 'ascii'),
  digits: Buffer.from('0123456789', 'ascii'),
};
export const PIN_ALPHABETS = Object.keys(ALPHABETS) as PinAlphabet[];

/** What sets made before PIN formats were recorded use: 24 HKDF bytes as 32 base64url characters. */
export const LEGACY_PIN_FORMAT: PinFormat = { alphabet: 'base64url', length: 32 };
export const LEGACY_PIN_FORMATS: PinFormats = { rootUser: LEGACY_PIN_FORMAT, rootSo: LEGACY_PIN_FORMAT, signingSo: LEGACY_PIN_FORMAT };
/** Longer PINs add nothing a person could ever test: 64 base64url characters are 384 bits. */
export const MAX_DERIVED_PIN_LENGTH = 64;
/** Below this a PIN is refused unless the ceremony is told to accept it (and records that it did). */
export const MIN_PIN_STRENGTH_BITS = 64;

/** The strength of a uniformly derived PIN in this format, in bits (log2 of the number of PINs). */
export function pinStrengthBits(f: PinFormat): number {
  return Math.floor(f.length * Math.log2(ALPHABETS[f.alphabet].length));
}

export function describePinFormat(f: PinFormat): string {
  return `${f.length} ${f.alphabet} characters (${pinStrengthBits(f)} bits)`;
}

function derivePinIn(secret: Uint8Array, salt: Buffer, info: Buffer, format: PinFormat): Buffer {
  if (format.alphabet === LEGACY_PIN_FORMAT.alphabet && format.length === LEGACY_PIN_FORMAT.length) return derivePin(secret, salt, info);
  const alphabet = ALPHABETS[format.alphabet];
  // The format is part of the HKDF info: PINs of two formats are unrelated, never prefixes of each other.
  const okm = Buffer.from(hkdfSync('sha256', secret, salt, Buffer.concat([info, Buffer.from(` ${format.alphabet}x${format.length}`, 'ascii')]), format.length * 4));
  const out = Buffer.alloc(format.length);
  // Rejection sampling: a byte is used only below the largest multiple of the alphabet size, so every
  // character is uniform (no modulo bias).
  const limit = 256 - (256 % alphabet.length);
  let o = 0;
  try {
    for (let i = 0; i < okm.length && o < out.length; i++) if (okm[i]! < limit) out[o++] = alphabet[okm[i]! % alphabet.length]!;
  } finally {
    wipe(okm);
  }
  if (o < out.length) {
    wipe(out);
    throw new RangeError('not enough key material for the PIN (astronomically unlikely)');
  }
  return out;
}

export function wipeQuorumPins(pins: QuorumPins | undefined): void {
  if (pins) wipe(pins.userPin, pins.soPin, pins.signingSoPin);
}

function derivePin(secret: Uint8Array, salt: Buffer, info: Buffer): Buffer {
  const okm = Buffer.from(hkdfSync('sha256', secret, salt, info, PIN_BYTES));
  try {
    return base64UrlToBuffer(okm);
  } finally {
    wipe(okm);
  }
}

const B64URL = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', 'ascii');

/** base64url of a multiple of 3 bytes, written into a Buffer without passing through a string. */
function base64UrlToBuffer(bytes: Buffer): Buffer {
  const out = Buffer.alloc((bytes.length / 3) * 4);
  for (let i = 0, o = 0; i < bytes.length; i += 3, o += 4) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o] = B64URL[(n >> 18) & 63]!;
    out[o + 1] = B64URL[(n >> 12) & 63]!;
    out[o + 2] = B64URL[(n >> 6) & 63]!;
    out[o + 3] = B64URL[n & 63]!;
  }
  return out;
}

/**
 * The format of a PIN derived for a token with these limits (issue 10): the longest the token allows (up to
 * MAX_DERIVED_PIN_LENGTH) in the largest alphabet it takes. Character rules are not in CK_TOKEN_INFO, so the
 * known ones are kept here: SmartCard-HSM (and Nitrokey HSM) SO PINs are exactly 16 hex digits.
 * Returns undefined when no derived PIN fits at all.
 */
export function pinFormatForToken(token: { minPinLen: number; maxPinLen: number; model: string }, who: 'user' | 'so'): PinFormat | undefined {
  if (who === 'so' && /SmartCard-HSM/i.test(token.model)) return { alphabet: 'hex', length: 16 };
  // CK_UNAVAILABLE_INFORMATION (all ones) or 0 means the token does not say: take the longest we make.
  const max = token.maxPinLen > 0 && token.maxPinLen < 0xffffffff ? token.maxPinLen : MAX_DERIVED_PIN_LENGTH;
  const length = Math.min(max, MAX_DERIVED_PIN_LENGTH);
  if (length < Math.max(1, token.minPinLen)) return undefined;
  return { alphabet: 'base64url', length };
}

/** The keys of a backup (issue 11): both 32 bytes, from the quorum secret; the caller wipes them. */
export interface BackupKeys {
  /** The AES-256 key the SO turns into a CKA_TRUSTED wrapping key on each token (CKM_AES_KEY_WRAP_PAD). */
  wrapKey: Buffer;
  /** HMAC-SHA-256 key authenticating the backup file. */
  macKey: Buffer;
}

/**
 * The backup keys, by HKDF-SHA-256 with the same salt as the PINs (bound to the set) and their own
 * labels: a backup file opens only with k shares of the set in force when it was made, and neither key
 * says anything about a PIN or about the other key.
 */
export function deriveBackupKeys(secret: Uint8Array, setId: string): BackupKeys {
  if (secret.length !== SECRET_LENGTH) throw new RangeError(`a quorum secret is ${SECRET_LENGTH} bytes`);
  const salt = Buffer.concat([PIN_SALT_LABEL, setIdBytes(setId)]);
  return {
    wrapKey: Buffer.from(hkdfSync('sha256', secret, salt, BACKUP_WRAP_INFO, 32)),
    macKey: Buffer.from(hkdfSync('sha256', secret, salt, BACKUP_MAC_INFO, 32)),
  };
}

export function wipeBackupKeys(keys: BackupKeys | undefined): void {
  if (keys) wipe(keys.wrapKey, keys.macKey);
}
