/**
 * What is in force, read from the tokens (DESIGN §5: no local database): the quorum set descriptor as a
 * public CKO_DATA object on the root token, and the root certificate stored beside the root key.
 * A second laptop with the same HSM and the shares can run the next ceremony.
 *
 * The descriptor must be readable before any login (shares are checked against it before a PIN is
 * derived), so it is public, and a session without a PIN can delete it and create another. It is
 * therefore stored signed by the root key (issue 10): a replaced descriptor fails the signature check
 * with TOKEN_TAMPERED instead of telling custodians with genuine shares that theirs are "from another
 * split". Before login the signature is checked with the root key's public half on the token; after the
 * root login, with the private root key itself (which no one can replace without the PINs).
 */
import { createHash, verify as verifySignature, type KeyObject } from 'node:crypto';
import { CeremonyError } from '../errors.js';
import { findKeys, publicKeyOf, readDataObject, writeDataObject, type KeyInfo } from '../hsm/keys.js';
import type { TokenSession } from '../hsm/token.js';
import { descriptorFromJson, descriptorToJson, type QuorumSetDescriptor } from '../quorum/index.js';
import { MAX_DESCRIPTOR_BYTES } from '../quorum/descriptor.js';
import { readCertificate } from '../openpgp/hsm-store.js';
import type { DigestSigner } from '../signer.js';

export const QUORUM_APPLICATION = 'ceremony-quorum';
export const QUORUM_SET_LABEL = 'quorum-set';
/** The label of the root key (and of its certificate's data object) on the root token. */
export const ROOT_KEY_LABEL = 'root-key';

/** The signed form on the token: the canonical descriptor JSON and the root key's signature over it. */
export const SIGNED_SET_FORMAT = 'ceremony-quorum-set/signed-1';
/** Domain separation: a root signature over a descriptor can never be taken for one over anything else. */
const SIGNATURE_LABEL = Buffer.from('ceremony quorum set descriptor v1\0', 'ascii');

export interface QuorumState {
  descriptor: QuorumSetDescriptor;
  /** The exact descriptor JSON that was signed (what `shares check --descriptor` files carry). */
  descriptorJson: string;
  /** Signed by the root key (false: a set stored before issue 10, to be re-stored signed at the next renewal). */
  signed: boolean;
  /** base64 RSA PKCS#1 v1.5 SHA-256 signature by the root key, when signed. */
  signature?: string;
}

function tampered(root: TokenSession, what: string): CeremonyError {
  return new CeremonyError(
    'TOKEN_TAMPERED',
    `token '${root.info.label}' was tampered with: ${what}; the set in force cannot be trusted, so nothing was done (compare the token with its backup and the ceremony records)`,
    { details: { token: root.info.label } },
  );
}

function signedBytes(descriptorJson: string): Buffer {
  return Buffer.concat([SIGNATURE_LABEL, Buffer.from(descriptorJson, 'utf8')]);
}

/** Parse the stored bytes (signed envelope, or a plain descriptor from before signing) without checking. */
export function parseStoredQuorumSet(raw: Uint8Array, source: string): QuorumState {
  const text = Buffer.from(raw).toString('utf8');
  if (text.length > 2 * MAX_DESCRIPTOR_BYTES) throw new CeremonyError('INPUT_MALFORMED', `${source} is too large to be a quorum set`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CeremonyError('INPUT_MALFORMED', `${source} is not JSON`, { cause: e });
  }
  if (typeof parsed === 'object' && parsed !== null && (parsed as { format?: unknown }).format === SIGNED_SET_FORMAT) {
    const env = parsed as { descriptor?: unknown; signature?: unknown };
    if (typeof env.descriptor !== 'string' || typeof env.signature !== 'string' || !/^[A-Za-z0-9+/]+=*$/.test(env.signature)) {
      throw new CeremonyError('INPUT_MALFORMED', `${source} is not a signed quorum set`);
    }
    return { descriptor: descriptorFromJson(env.descriptor, source), descriptorJson: env.descriptor, signed: true, signature: env.signature };
  }
  return { descriptor: descriptorFromJson(text, source), descriptorJson: text, signed: false };
}

/** Whether `state` carries a valid root signature by `rootPublicKey`. */
export function quorumSetSignedBy(state: QuorumState, rootPublicKey: KeyObject): boolean {
  if (!state.signed || !state.signature) return false;
  return verifySignature('sha256', signedBytes(state.descriptorJson), rootPublicKey, Buffer.from(state.signature, 'base64'));
}

/** The root key's public half on the token (before login), refusing look-alikes. */
function rootPublicHalf(root: TokenSession): KeyInfo {
  const pubs = findKeys(root, { object: ROOT_KEY_LABEL, type: 'public', extraPath: [], extraQuery: [] });
  if (pubs.length !== 1) {
    throw tampered(root, pubs.length === 0 ? 'the root key has no public half' : `there are ${pubs.length} public keys labelled '${ROOT_KEY_LABEL}'`);
  }
  return pubs[0]!;
}

/**
 * The quorum set in force. Without `rootKey` (before login) a signed set is checked against the root key's
 * public half on the token; with the private `rootKey` (logged in) against the key itself, and an unsigned
 * set is refused when the root key was made with a state record (it was stored signed, so it was replaced).
 */
export function readQuorumState(root: TokenSession, opts: { rootKey?: KeyInfo } = {}): QuorumState {
  const raw = readDataObject(root, { label: QUORUM_SET_LABEL, application: QUORUM_APPLICATION });
  if (!raw) {
    throw new CeremonyError('TOKEN_NOT_FOUND', `token '${root.info.label}' holds no quorum set: it was not made by ceremony init (or its quorum set was deleted)`);
  }
  let state: QuorumState;
  try {
    state = parseStoredQuorumSet(raw, `the quorum set on token '${root.info.label}'`);
  } catch (e) {
    throw tampered(root, `its quorum set is not one this tool writes (${(e as Error).message})`);
  }
  const half = opts.rootKey ?? rootPublicHalf(root);
  if (state.signed && !quorumSetSignedBy(state, publicKeyOf(root, half.handle))) {
    throw tampered(root, 'its quorum set descriptor is not signed by the root key (it was replaced)');
  }
  // A root key made as a locked object (issue 10) has always had its set signed: an unsigned one was put
  // there by someone else. Only a set from before (root key modifiable, no state record) may be unsigned.
  if (!state.signed && (opts.rootKey ? opts.rootKey.state === 'authenticated' : half.protections.modifiable === false)) {
    throw tampered(root, 'its quorum set descriptor is not signed by the root key, which always signs it (it was replaced)');
  }
  return state;
}

export function readQuorumSet(root: TokenSession): QuorumSetDescriptor {
  return readQuorumState(root).descriptor;
}

/** Store `d` signed by the root key (a logged-in session on the root token). */
export async function writeQuorumSet(root: TokenSession, d: QuorumSetDescriptor, rootSigner: DigestSigner): Promise<void> {
  const descriptorJson = descriptorToJson(d);
  const digest = createHash('sha256').update(signedBytes(descriptorJson)).digest();
  const signature = (await rootSigner.signDigest('sha256', digest)).toString('base64');
  const envelope = JSON.stringify({ format: SIGNED_SET_FORMAT, descriptor: descriptorJson, signature });
  writeDataObject(root, { label: QUORUM_SET_LABEL, application: QUORUM_APPLICATION, value: Buffer.from(envelope, 'utf8') });
}

export function readRootCertificate(root: TokenSession): Uint8Array {
  const cert = readCertificate(root, ROOT_KEY_LABEL);
  if (!cert) throw new CeremonyError('KEY_NOT_FOUND', `token '${root.info.label}' holds no root certificate`);
  return cert;
}
