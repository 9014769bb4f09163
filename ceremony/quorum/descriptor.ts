/**
 * The public description of one split: which set is in force, its commitment, k and the custodians in
 * share order. The init and renew ceremonies store it on the root token as a public CKO_DATA object
 * (readable without login), so a renewal refuses a whole forged set of shares before any login: the shares
 * must carry this set ID and this commitment, and combine to the committed secret.
 */
import { z } from 'zod';
import { CeremonyError } from '../errors.js';
import { CUSTODIAN_NAME, MAX_CUSTODIANS } from './share.js';
import { LEGACY_PIN_FORMATS, type PinFormats } from './secret.js';

export interface QuorumSetDescriptor {
  /** 1: made before issue 10 (the signing token's SO PIN was the operator's); 2: says who holds it. */
  version: 1 | 2;
  setId: string;
  /** SHA-256 commitment to the set's secret (secret.ts quorumCommitment), 64 lower-case hex characters. */
  commitment: string;
  threshold: number;
  /** Custodian names in share order: share i belongs to custodians[i - 1]. */
  custodians: string[];
  /**
   * Who holds the signing token's SO PIN (version 2): 'quorum' when it is derived from this set's secret
   * (secret.ts deriveQuorumPins), 'operator' when a person still knows it (a deployment from before issue 10
   * that has not handed it over yet). Version 1 means 'operator'.
   */
  signingSoPin?: 'quorum' | 'operator';
  /** How this set's PINs are written (version 2); absent = the 32-character base64url PINs of before. */
  pins?: PinFormats;
}

/** The PIN formats of a set (those of before formats were recorded when absent). */
export function pinFormatsOf(d: QuorumSetDescriptor): PinFormats {
  return d.pins ?? LEGACY_PIN_FORMATS;
}

/** Who holds the signing token's SO PIN under this descriptor. */
export function signingSoHolder(d: QuorumSetDescriptor): 'quorum' | 'operator' {
  return d.version >= 2 && d.signingSoPin === 'quorum' ? 'quorum' : 'operator';
}

/** At most this many bytes of descriptor JSON are read (255 names of 64 characters fit). */
export const MAX_DESCRIPTOR_BYTES = 32 * 1024;

const PinFormatSchema = z.strictObject({ alphabet: z.enum(['base64url', 'alnum', 'hex', 'digits']), length: z.int().min(1).max(255) });

const DescriptorSchema = z
  .strictObject({
    version: z.union([z.literal(1), z.literal(2)]),
    signingSoPin: z.enum(['quorum', 'operator']).optional(),
    pins: z
      .strictObject({
        rootUser: PinFormatSchema,
        rootSo: PinFormatSchema,
        signingSo: PinFormatSchema,
      })
      .optional(),
    setId: z.string().regex(/^[0-9a-f]{16}$/),
    commitment: z.string().regex(/^[0-9a-f]{64}$/),
    threshold: z.int().min(1).max(MAX_CUSTODIANS),
    custodians: z.array(z.string().regex(CUSTODIAN_NAME)).min(1).max(MAX_CUSTODIANS),
  })
  .refine((d) => d.threshold <= d.custodians.length, { message: 'threshold is larger than the number of custodians', path: ['threshold'] })
  .refine((d) => new Set(d.custodians.map((c) => c.toLowerCase())).size === d.custodians.length, {
    message: 'custodian names repeat',
    path: ['custodians'],
  });

/** Canonical JSON (fixed key order, no spaces), so the bytes on the token are reproducible. */
export function descriptorToJson(d: QuorumSetDescriptor): string {
  const base = { version: d.version, setId: d.setId, commitment: d.commitment, threshold: d.threshold, custodians: d.custodians };
  return JSON.stringify(d.version >= 2 ? { ...base, signingSoPin: d.signingSoPin ?? 'operator', ...(d.pins ? { pins: d.pins } : {}) } : base);
}

/** Parse a descriptor from untrusted bytes (the token, a file); `source` names it in errors. */
export function descriptorFromJson(input: string | Uint8Array, source = 'the quorum set descriptor'): QuorumSetDescriptor {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  if (text.length > MAX_DESCRIPTOR_BYTES) throw new CeremonyError('INPUT_MALFORMED', `${source} is larger than ${MAX_DESCRIPTOR_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CeremonyError('INPUT_MALFORMED', `${source} is not JSON`, { cause: e });
  }
  const r = DescriptorSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.length ? issue.path.join('.') : 'its top level';
    throw new CeremonyError('INPUT_MALFORMED', `${source} is not a valid quorum set descriptor: ${field}: ${issue.message}`);
  }
  return r.data;
}
