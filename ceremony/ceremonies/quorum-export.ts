/**
 * The set in force, for offline share checks (issue 12 item 12). `shares check` runs without the HSM, so
 * it cannot know whether the set its shares name is still in force. `ceremony hsm quorum-set` exports the
 * set stored on the root token as it is stored there, signed by the root key, together with the root key's
 * public half (SPKI); `shares check --descriptor FILE` verifies that signature, says which root key made it
 * (its OpenPGP fingerprint, to compare with the pinned `root.fingerprint`), and refuses shares of any
 * other set, a superseded one included, as foreign.
 */
import { createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { CeremonyError } from '../errors.js';
import { findKeys, publicKeyOf, publicKeyPem } from '../hsm/keys.js';
import type { TokenSession } from '../hsm/token.js';
import { certificateKeys } from '../openpgp/build/certificate.js';
import { keyPacketHolds } from '../openpgp/build/packets.js';
import type { QuorumSetDescriptor } from '../quorum/index.js';
import { parseStoredQuorumSet, quorumSetSignedBy, readQuorumState, readRootCertificate, ROOT_KEY_LABEL, SIGNED_SET_FORMAT } from './quorum-state.js';

export const EXPORT_FORMAT = 'ceremony-quorum-set-export/1';
export const MAX_EXPORT_BYTES = 256 * 1024;

const ExportSchema = z.strictObject({
  format: z.literal(EXPORT_FORMAT),
  token: z.string().max(64),
  exported: z.string().max(64),
  /** The set as stored on the root token: the signed envelope. */
  set: z.strictObject({ format: z.literal(SIGNED_SET_FORMAT), descriptor: z.string().max(64 * 1024), signature: z.string().max(4096) }),
  rootPublicKey: z.string().max(8192),
  /** The root certificate (binary, base64): the fingerprint is computed from it, never taken from the file. */
  rootCertificate: z.string().max(1024 * 1024),
  rootFingerprint: z.string().regex(/^[0-9A-F]{40}$/),
});

/** The file `ceremony hsm quorum-set --out` writes: checked on the token first (public objects, no PIN). */
export async function exportQuorumSet(root: TokenSession, now: Date): Promise<{ text: string; descriptor: QuorumSetDescriptor; rootFingerprint: string }> {
  const state = readQuorumState(root);
  if (!state.signed) {
    throw new CeremonyError('USAGE', `the quorum set on token '${root.info.label}' was stored before sets were signed by the root key; it cannot be exported as an authenticated file until the next renewal stores it signed`);
  }
  const [pub] = findKeys(root, { object: ROOT_KEY_LABEL, type: 'public', extraPath: [], extraQuery: [] });
  const rootKey = publicKeyOf(root, pub!.handle);
  const certificate = readRootCertificate(root);
  const primary = (await certificateKeys(certificate)).find((k) => k.role === 'primary' && keyPacketHolds(k.packet, rootKey));
  if (!primary) throw new CeremonyError('TOKEN_TAMPERED', `token '${root.info.label}' was tampered with: its root certificate does not hold its root key`);
  const text = JSON.stringify(
    {
      format: EXPORT_FORMAT,
      token: root.info.label,
      exported: now.toISOString(),
      set: { format: SIGNED_SET_FORMAT, descriptor: state.descriptorJson, signature: state.signature },
      rootPublicKey: publicKeyPem(rootKey),
      rootCertificate: Buffer.from(certificate).toString('base64'),
      rootFingerprint: primary.fingerprint,
    },
    null,
    2,
  );
  return { text: text + '\n', descriptor: state.descriptor, rootFingerprint: primary.fingerprint };
}

export interface AuthenticatedDescriptor {
  descriptor: QuorumSetDescriptor;
  /** Whose root key signed it; undefined for a plain descriptor file (unauthenticated). */
  rootFingerprint?: string;
}

/**
 * A `--descriptor` file: an export (signature checked, and the root fingerprint against `pinnedRoot` when
 * given) or a plain descriptor JSON (accepted, but unauthenticated: the caller says so).
 */
export async function readDescriptorFile(bytes: Uint8Array, source: string, pinnedRoot?: string): Promise<AuthenticatedDescriptor> {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new CeremonyError('INPUT_MALFORMED', `${source} is not JSON`, { cause: e });
  }
  if (typeof raw !== 'object' || raw === null || (raw as { format?: unknown }).format !== EXPORT_FORMAT) {
    return { descriptor: parseStoredQuorumSet(bytes, source).descriptor };
  }
  const r = ExportSchema.safeParse(raw);
  if (!r.success) throw new CeremonyError('INPUT_MALFORMED', `${source} is not a quorum set export (${r.error.issues[0]!.path.join('.') || 'top level'}: ${r.error.issues[0]!.message})`);
  const e = r.data;
  let key;
  try {
    key = createPublicKey(e.rootPublicKey);
  } catch (err) {
    throw new CeremonyError('INPUT_MALFORMED', `${source} holds no readable root public key`, { cause: err });
  }
  const state = parseStoredQuorumSet(Buffer.from(JSON.stringify(e.set)), source);
  if (!quorumSetSignedBy(state, key)) {
    throw new CeremonyError('REJECTED', `${source}: the quorum set is not signed by the root key it names; the file was altered`);
  }
  // The fingerprint of the key that signed, from the certificate's primary that holds that key.
  const primary = (await certificateKeys(Buffer.from(e.rootCertificate, 'base64'))).find((k) => k.role === 'primary' && keyPacketHolds(k.packet, key));
  if (!primary || primary.fingerprint !== e.rootFingerprint) {
    throw new CeremonyError('REJECTED', `${source}: its root certificate does not hold the key that signed the set under the fingerprint it names; the file was altered`);
  }
  const pin = pinnedRoot?.replace(/\s+/g, '').toUpperCase();
  if (pin !== undefined && pin !== primary.fingerprint) {
    throw new CeremonyError('REJECTED', `${source} is signed by root key ${primary.fingerprint}, not the pinned ${pin}`);
  }
  return { descriptor: state.descriptor, rootFingerprint: primary.fingerprint };
}
