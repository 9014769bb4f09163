/**
 * What is in force, read from the tokens (DESIGN §5: no local database): the quorum set descriptor as a
 * public CKO_DATA object on the root token, and the root certificate stored beside the root key.
 * A second laptop with the same HSM and the shares can run the next ceremony.
 */
import { CeremonyError } from '../errors.js';
import { readDataObject, writeDataObject } from '../hsm/keys.js';
import type { TokenSession } from '../hsm/token.js';
import { descriptorFromJson, descriptorToJson, type QuorumSetDescriptor } from '../quorum/index.js';
import { readCertificate } from '../openpgp/hsm-store.js';

export const QUORUM_APPLICATION = 'ceremony-quorum';
export const QUORUM_SET_LABEL = 'quorum-set';
/** The label of the root key (and of its certificate's data object) on the root token. */
export const ROOT_KEY_LABEL = 'root-key';

export function readQuorumSet(root: TokenSession): QuorumSetDescriptor {
  const raw = readDataObject(root, { label: QUORUM_SET_LABEL, application: QUORUM_APPLICATION });
  if (!raw) {
    throw new CeremonyError('TOKEN_NOT_FOUND', `token '${root.info.label}' holds no quorum set: it was not made by ceremony init`);
  }
  return descriptorFromJson(raw, `the quorum set on token '${root.info.label}'`);
}

export function writeQuorumSet(root: TokenSession, d: QuorumSetDescriptor): void {
  writeDataObject(root, { label: QUORUM_SET_LABEL, application: QUORUM_APPLICATION, value: Buffer.from(descriptorToJson(d), 'utf8') });
}

export function readRootCertificate(root: TokenSession): Uint8Array {
  const cert = readCertificate(root, ROOT_KEY_LABEL);
  if (!cert) throw new CeremonyError('KEY_NOT_FOUND', `token '${root.info.label}' holds no root certificate`);
  return cert;
}
