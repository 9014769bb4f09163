/**
 * DSSE envelopes (https://github.com/secure-systems-lab/dsse, envelope.md and protocol.md): parsed at the edge
 * and their signatures checked over PAE(payloadType, payload), the pre-authentication encoding, which comes from
 * @sigstore/core (sigstore-js), as does the signature primitive. A signature is over the exact payload bytes, so
 * changing one byte of the payload (or of its type) invalidates it.
 */
import { crypto as sigstoreCrypto, dsse } from '@sigstore/core';
import { z } from 'zod';
import { CeremonyError } from '../errors.js';
import type { ProvenanceKey } from './policy.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** A provenance file is small; anything larger is not one. */
export const MAX_PROVENANCE_BYTES = 4 * 1024 * 1024;

// DSSE envelope.md: payload and sig are Base64 (standard or URL-safe alphabet).
const base64 = z.string().max(MAX_PROVENANCE_BYTES * 2).regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be Base64');
const envelopeSchema = z.object({
  payloadType: z.string().min(1).max(256),
  payload: base64,
  signatures: z.array(z.object({ keyid: z.string().max(256).optional(), sig: base64.min(1) })).max(16),
});

export interface Envelope {
  payloadType: string;
  payload: Buffer;
  signatures: { keyid: string; sig: Buffer }[];
}

function decode(b64: string): Buffer {
  return Buffer.from(b64.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

export function parseEnvelope(bytes: Uint8Array, source: string): Envelope {
  if (bytes.length > MAX_PROVENANCE_BYTES) throw new CeremonyError('PROVENANCE_MALFORMED', `${source} is larger than ${MAX_PROVENANCE_BYTES} bytes`);
  let raw: unknown;
  try {
    // slsa-github-generator writes `.intoto.jsonl`: one envelope per line. We take exactly one.
    const lines = Buffer.from(bytes).toString('utf8').split('\n').filter((l) => l.trim() !== '');
    if (lines.length !== 1) throw new Error(`${lines.length} envelopes; exactly one is expected`);
    raw = JSON.parse(lines[0]!);
  } catch (e) {
    throw new CeremonyError('PROVENANCE_MALFORMED', `${source} is not one DSSE envelope in JSON (${(e as Error).message})`, { cause: e });
  }
  const r = envelopeSchema.safeParse(raw);
  if (!r.success) throw new CeremonyError('PROVENANCE_MALFORMED', `${source} is not a DSSE envelope: ${r.error.issues[0]!.path.join('.') || 'the top level'} ${r.error.issues[0]!.message}`);
  if (r.data.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new CeremonyError('PROVENANCE_MALFORMED', `${source} carries a payload of type "${r.data.payloadType}", not an in-toto statement (${IN_TOTO_PAYLOAD_TYPE})`);
  }
  return { payloadType: r.data.payloadType, payload: decode(r.data.payload), signatures: r.data.signatures.map((s) => ({ keyid: s.keyid ?? '', sig: decode(s.sig) })) };
}

/**
 * The pinned key one of the envelope's signatures verifies under (DSSE protocol.md: verify over PAE), or a refusal:
 * PROVENANCE_SIGNATURE_INVALID when a signature names a pinned key (keyid) but does not verify (a tampered
 * payload), PROVENANCE_UNTRUSTED when no signature is by a pinned key at all.
 */
export function verifyEnvelope(env: Envelope, keys: readonly ProvenanceKey[], source: string): ProvenanceKey {
  const pae = dsse.preAuthEncoding(env.payloadType, env.payload);
  let namedPinned: string | null = null;
  for (const s of env.signatures) {
    for (const k of keys) {
      if (s.keyid !== '' && s.keyid !== k.keyid) continue;
      if (sigstoreCrypto.verify(pae, k.key, s.sig, k.hash)) return k;
      if (s.keyid === k.keyid) namedPinned = k.keyid;
    }
  }
  if (namedPinned) {
    throw new CeremonyError('PROVENANCE_SIGNATURE_INVALID', `${source}: the signature by pinned key ${namedPinned.slice(0, 16)}… does not verify over the payload (altered payload or payload type)`);
  }
  const ids = env.signatures.map((s) => s.keyid || '(no keyid)').join(', ');
  throw new CeremonyError('PROVENANCE_UNTRUSTED', `${source} is signed by ${env.signatures.length ? `key(s) ${ids}, none of them pinned` : 'no key'} and no signature verifies under a pinned provenance key`);
}
