/**
 * The backup file (issue 11): one JSON file holding every backup-able key of both tokens wrapped under
 * the quorum's AES key (CKM_AES_KEY_WRAP_PAD), with what is needed to put each key back exactly: label,
 * CKA_ID, role, validity, public half, key state record and stored certificate; and the signed quorum
 * set descriptor in force when it was made.
 *
 * Form: {"format":"ceremony-backup/1","body":"<JSON text>","mac":"<hex>"}. The MAC is HMAC-SHA-256 over
 * a label and the exact body text, under a key derived from the quorum secret (secret.ts
 * deriveBackupKeys): only k shares of that set can check it, and any change to the body (a swapped
 * wrapped key, another descriptor, other dates) fails it. The body is parsed with limits and a strict
 * schema at the edge; nothing else in the file is trusted before the MAC holds.
 *
 * What it reveals without the shares: key labels, CKA_IDs, roles, validity, public keys, certificates
 * and the quorum descriptor (custodian names, threshold, set ID): all public already. The wrapped keys
 * need the wrapping key, which only exists inside a token while k custodians are present.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { CeremonyError } from '../errors.js';

export const BACKUP_FORMAT = 'ceremony-backup/1';
const MAC_LABEL = Buffer.from('ceremony backup file v1\0', 'ascii');
/** A backup of a handful of RSA-4096 keys with certificates is tens of kB; refuse anything far larger. */
export const MAX_BACKUP_BYTES = 4 * 1024 * 1024;

const HEX = (max: number) => z.string().regex(/^[0-9a-f]*$/).max(max);
const B64 = (max: number) => z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/).max(max);
const DAY = z.string().regex(/^\d{4}-\d{2}-\d{2}$/).nullable();

const BackupKeySchema = z.strictObject({
  label: z.string().min(1).max(128),
  id: HEX(256),
  role: z.enum(['root', 'signing-subkey', 'payload']),
  bits: z.union([z.literal(2048), z.literal(4096)]),
  startDate: DAY,
  endDate: DAY,
  /** SubjectPublicKeyInfo DER, base64. */
  publicKey: B64(4096),
  /** The key state record (hsm/key-state.ts) as stored, JSON text. */
  keyState: z.string().max(4096),
  /** The stored OpenPGP certificate, base64; null = none. */
  certificate: B64(1024 * 1024).nullable(),
  /** CKM_AES_KEY_WRAP_PAD of the private key's PKCS#8, base64. */
  wrapped: B64(16 * 1024),
});

const BackupTokenSchema = z.strictObject({
  /** 'root' or 'signing': which token of the config it is restored onto. */
  token: z.enum(['root', 'signing']),
  label: z.string().min(1).max(32),
  keys: z.array(BackupKeySchema).max(64),
});

const BackupBodySchema = z.strictObject({
  created: z.string().datetime(),
  setId: HEX(16).length(16),
  /** The signed quorum set as stored on the root token (quorum-state.ts), byte for byte. */
  quorumSet: z.string().max(128 * 1024),
  tokens: z.array(BackupTokenSchema).length(2),
  /** Keys that exist but could not be backed up (never extractable, made before issue 11). */
  notBackedUp: z.array(z.strictObject({ token: z.string().max(32), label: z.string().max(128), reason: z.string().max(300) })).max(64),
});

const EnvelopeSchema = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  body: z.string().max(MAX_BACKUP_BYTES),
  mac: HEX(64).length(64),
});

export type BackupKey = z.infer<typeof BackupKeySchema>;
export type BackupToken = z.infer<typeof BackupTokenSchema>;
export type BackupBody = z.infer<typeof BackupBodySchema>;

function mac(macKey: Buffer, body: string): Buffer {
  return createHmac('sha256', macKey).update(MAC_LABEL).update(body, 'utf8').digest();
}

/** The file's text: the body as JSON text and its MAC. */
export function sealBackup(body: BackupBody, macKey: Buffer): string {
  const text = JSON.stringify(BackupBodySchema.parse(body));
  return JSON.stringify({ format: BACKUP_FORMAT, body: text, mac: mac(macKey, text).toString('hex') }, null, 1) + '\n';
}

export interface OpenedBackup {
  /** Parsed, but not yet authenticated: only `setId` and `quorumSet` may be used before `authenticate`. */
  body: BackupBody;
  bodyText: string;
  mac: Buffer;
}

/** Parse a backup file (bytes read with a limit) into its unauthenticated body: INPUT_MALFORMED if it is not one. */
export function parseBackup(raw: Buffer, source: string): OpenedBackup {
  if (raw.length > MAX_BACKUP_BYTES) throw new CeremonyError('INPUT_MALFORMED', `${source} is too large to be a backup file`);
  let env: z.infer<typeof EnvelopeSchema>;
  let body: BackupBody;
  try {
    env = EnvelopeSchema.parse(JSON.parse(raw.toString('utf8')));
    body = BackupBodySchema.parse(JSON.parse(env.body));
  } catch (e) {
    throw new CeremonyError('INPUT_MALFORMED', `${source} is not a ceremony backup file (${BACKUP_FORMAT})`, { cause: e });
  }
  return { body, bodyText: env.body, mac: Buffer.from(env.mac, 'hex') };
}

/** Refuse a body whose MAC does not hold under `macKey` (constant-time comparison). */
export function authenticateBackup(opened: OpenedBackup, macKey: Buffer, source: string): BackupBody {
  const expected = mac(macKey, opened.bodyText);
  if (!timingSafeEqual(expected, opened.mac)) {
    throw new CeremonyError('BACKUP_INVALID', `${source} does not authenticate under the quorum's backup key: it was altered after it was made, so nothing was restored`);
  }
  return opened.body;
}

