/**
 * A share encrypted to its custodian's OpenPGP key (DESIGN §4, `shares/<custodian>.share.asc`), with
 * openpgp.js. The plaintext is the share envelope as binary literal data (RFC 9580 §5.9), so `gpg -d`
 * prints exactly the envelope. openpgp.js's defaults make a SEIPD v1 packet (no AEAD), which GnuPG 2.2 reads.
 */
import * as openpgp from 'openpgp';
import { CeremonyError } from '../errors.js';
import { MAX_SHARE_TEXT_BYTES } from './share.js';

/** The most armored ciphertext we read: a share envelope plus OpenPGP overhead and a few recipients. */
export const MAX_ENCRYPTED_SHARE_BYTES = 64 * 1024;
/** The most a share file may hold, in any form (plain ≤ MAX_SHARE_TEXT_BYTES, encrypted ≤ this): what readers read. */
export const MAX_SHARE_FILE_BYTES = MAX_ENCRYPTED_SHARE_BYTES;

export function isEncryptedShare(text: string | Uint8Array): boolean {
  const head = (typeof text === 'string' ? text : Buffer.from(text.subarray(0, 64)).toString('utf8')).trimStart();
  return head.startsWith('-----BEGIN PGP MESSAGE-----');
}

/** Encrypt a share envelope to the custodian's public key; returns the armored message. */
export async function encryptShareForCustodian(shareText: string | Uint8Array, armoredPublicKey: string, custodian = 'the custodian'): Promise<string> {
  let key: openpgp.Key;
  try {
    key = await openpgp.readKey({ armoredKey: armoredPublicKey });
  } catch (e) {
    throw new CeremonyError('CERTIFICATE_MALFORMED', `the OpenPGP public key of ${custodian} cannot be read`, { cause: e });
  }
  try {
    await key.getEncryptionKey();
  } catch (e) {
    throw new CeremonyError('CERTIFICATE_MALFORMED', `the OpenPGP key of ${custodian} has no valid encryption key`, { cause: e });
  }
  const bytes = typeof shareText === 'string' ? Buffer.from(shareText, 'utf8') : Buffer.from(shareText);
  try {
    const message = await openpgp.createMessage({ binary: bytes });
    return await openpgp.encrypt({ message, encryptionKeys: key, format: 'armored' });
  } finally {
    bytes.fill(0);
  }
}

/**
 * Decrypt an armored share with the custodian's private key. The returned Buffer holds the share envelope
 * (secret): the caller parses it and wipes it. The passphrase must become a string for openpgp.js; the
 * caller's Buffer is not wiped here.
 */
export async function decryptShare(armored: string, armoredPrivateKey: string, passphrase?: string | Uint8Array, source = 'the encrypted share'): Promise<Buffer> {
  if (armored.length > MAX_ENCRYPTED_SHARE_BYTES) throw new CeremonyError('SHARE_MALFORMED', `${source} is larger than ${MAX_ENCRYPTED_SHARE_BYTES} bytes`);
  let privateKey: openpgp.PrivateKey;
  try {
    privateKey = await openpgp.readPrivateKey({ armoredKey: armoredPrivateKey });
  } catch (e) {
    throw new CeremonyError('INPUT_MALFORMED', `the private key for ${source} cannot be read`, { cause: e });
  }
  if (!privateKey.isDecrypted()) {
    if (passphrase === undefined) throw new CeremonyError('USAGE', `the private key for ${source} is protected by a passphrase, and none was given`);
    try {
      privateKey = await openpgp.decryptKey({
        privateKey,
        passphrase: typeof passphrase === 'string' ? passphrase : Buffer.from(passphrase).toString('utf8'),
      });
    } catch (e) {
      throw new CeremonyError('REJECTED', `the passphrase does not unlock the private key for ${source}`, { cause: e });
    }
  }
  let message: openpgp.Message<string>;
  try {
    message = await openpgp.readMessage({ armoredMessage: armored });
  } catch (e) {
    throw new CeremonyError('SHARE_MALFORMED', `${source} is not an OpenPGP message`, { cause: e });
  }
  let data: Uint8Array;
  try {
    ({ data } = await openpgp.decrypt({ message, decryptionKeys: privateKey, format: 'binary' }));
  } catch (e) {
    throw new CeremonyError('SHARE_INVALID', `${source} cannot be decrypted with this key: it was encrypted to someone else, or altered`, { cause: e });
  }
  if (data.length > MAX_SHARE_TEXT_BYTES) {
    data.fill(0);
    throw new CeremonyError('SHARE_MALFORMED', `${source} decrypts to more than ${MAX_SHARE_TEXT_BYTES} bytes: it is not a share`);
  }
  const out = Buffer.from(data);
  data.fill(0);
  return out;
}
