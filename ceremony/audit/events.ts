/**
 * The vocabulary of a ceremony record (DESIGN §4, docs/RECORD-FORMAT.md): one closed, typed event shape
 * per line of `log.jsonl`. The same zod schemas serve both sides of the edge:
 *  - the writer (record.ts) builds every line from typed fields only, so no caller can slip a free-form
 *    object (and with it a PIN, a share or the quorum secret) into the log;
 *  - the reviewer (review.ts) parses untrusted lines with them and names anything that does not fit.
 *
 * Results: 'failed' means the ceremony stops here (policy: nothing but 'seal'/'ceremony-end' may follow);
 * a problem the ceremony survives (a wrong PIN with attempts left, a refused share) is 'refused' or
 * 'warning'; an operator override (e.g. --allow-network) is 'override'.
 */
import { z } from 'zod';

export const RECORD_FORMAT = 'ceremony-record/1';
/** `prev` of the first line: there is no previous line. */
export const GENESIS_PREV = '0'.repeat(64);

export const CEREMONY_KINDS = ['sign', 'payload-sign', 'init', 'renew', 'backup', 'restore'] as const;
export type CeremonyKind = (typeof CEREMONY_KINDS)[number];

/** The named steps of the ceremony scripts (DESIGN §3). A reviewer flags any other name. */
export const CEREMONY_STEPS = [
  'ceremony-start',
  'air-gap-check',
  'load-config',
  'load-trusted-keys',
  'verify-input',
  'builder-agreement',
  'provenance-check',
  'show-fingerprints',
  'confirm',
  'hsm-login',
  'select-key',
  'sign',
  'self-check',
  'write-output',
  'quorum-session',
  'share-accepted',
  'share-refused',
  'quorum-reached',
  'derive-pins',
  'init-token',
  'root-login',
  'generate-key',
  'build-certificate',
  'bind-subkey',
  'sign-transition',
  'rotate-pins',
  'split',
  'hand-out-share',
  'recombine-check',
  'export-certificate',
  'wrap-keys',
  'unwrap-keys',
  'seal',
  'ceremony-end',
] as const;
export type CeremonyStep = (typeof CEREMONY_STEPS)[number];

export const EVENT_RESULTS = ['ok', 'failed', 'refused', 'warning', 'override'] as const;
export type EventResult = (typeof EVENT_RESULTS)[number];

export const ACTOR_ROLES = ['maintainer', 'custodian', 'auditor', 'system'] as const;
export type ActorRole = (typeof ACTOR_ROLES)[number];

/**
 * Option names a ceremony may record in its first line. An allow-list rather than a deny-list: a
 * secret-bearing option (a PIN value, a share typed on the command line) cannot be recorded by mistake,
 * because no such name is here. Extend it here when a ceremony grows a new, non-secret option.
 */
export const RECORDABLE_OPTIONS = [
  'key',
  'seal-key',
  'trusted-key',
  'revoker-key',
  'signature',
  'digests',
  'out',
  'out-dir',
  'record-dir',
  'config',
  'share',
  'module',
  'pin-file',
  'public-key',
  'token',
  'label',
  'bits',
  'valid-days',
  'openpgp-uid',
  'allow-network',
  'allow-unverified',
  'armor',
  'detached',
  'new-payload-key',
  'accept-weak-pins',
  'build-subkey',
  'payload-key',
  'threshold',
  'custodians',
  'dir',
  'format',
  'file',
  'payload',
  'session-id',
  'json',
  'yes',
  'backup',
] as const;
export type RecordableOption = (typeof RECORDABLE_OPTIONS)[number];

const HEX64 = /^[0-9a-f]{64}$/;
const FINGERPRINT = /^[0-9A-F]{16,64}$/;
// Printable text without control characters; bounded so one line stays small.
const text = (max: number) =>
  z
    .string()
    .max(max)
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'control characters are not allowed');
/** A PKCS#11 URI (RFC 7512) must never carry pin-value: it would put a PIN in the record. */
const noPinValue = (s: string) => !/pin-value/i.test(s);
const isoUtc = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/, 'an ISO 8601 UTC time');

export const actorSchema = z.strictObject({
  role: z.enum(ACTOR_ROLES),
  name: text(128).regex(/^[\p{L}\p{N} ._@<>()'-]+$/u, 'a person or custodian name').optional(),
});
export type Actor = z.infer<typeof actorSchema>;

export const fileRefSchema = z.strictObject({
  /** A file name or path as the ceremony saw it (e.g. `flatcar_production_update.gz`). */
  name: text(1024),
  sha256: z.string().regex(HEX64, 'lower-case hex SHA-256'),
  size: z.number().int().nonnegative().optional(),
});
export type FileRef = z.infer<typeof fileRefSchema>;

export const keyRefSchema = z.strictObject({
  uri: text(1024).refine(noPinValue, 'a key URI must not carry pin-value').optional(),
  /** OpenPGP fingerprint (upper-case hex) or the SHA-256 of the public key for a plain RSA key. */
  fingerprint: z.string().regex(FINGERPRINT, 'upper-case hex fingerprint').optional(),
  label: text(128).optional(),
  validFrom: isoUtc.optional(),
  validUntil: isoUtc.optional(),
});
export type KeyRef = z.infer<typeof keyRefSchema>;

/** Quorum facts: public parameters only (never share bytes or the secret). */
export const quorumRefSchema = z.strictObject({
  /** The quorum session ID every custodian confirms (DESIGN §3, Renew). */
  sessionId: z.string().regex(/^[0-9a-f]{16,64}$/).optional(),
  threshold: z.number().int().min(1).max(255),
  total: z.number().int().min(1).max(255).optional(),
  custodians: z.array(text(128)).max(255).optional(),
});
export type QuorumRef = z.infer<typeof quorumRefSchema>;

/** Independent builders (issue 15): the rule in force (on line 1), by builder name and pinned fingerprints. */
const builderName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/);
export const builderRuleRefSchema = z.strictObject({
  threshold: z.number().int().min(1).max(16),
  members: z.array(z.strictObject({ name: builderName, fingerprints: z.array(z.string().regex(FINGERPRINT)).max(8) })).max(16),
});
export type BuilderRuleRef = z.infer<typeof builderRuleRefSchema>;

/** The provenance policy in force (on line 1, issue 15): pinned DSSE key IDs and the allowed builders and source. */
export const provenanceRuleRefSchema = z.strictObject({
  keyids: z.array(z.string().regex(HEX64)).max(16),
  builderIds: z.array(text(2048)).max(32),
  repository: text(2048),
  refPattern: text(1024),
});
export type ProvenanceRuleRef = z.infer<typeof provenanceRuleRefSchema>;

/** One file's builder agreement (issue 15): who agreed, who disagreed, who was missing. */
export const agreementRefSchema = z.strictObject({
  threshold: z.number().int().min(1).max(16),
  agreed: z.array(builderName).max(16),
  disagreed: z.array(builderName).max(16),
  missing: z.array(builderName).max(16),
});
export type AgreementRef = z.infer<typeof agreementRefSchema>;

/** Which share arrived: its public envelope fields, never its bytes. */
export const shareRefSchema = z.strictObject({
  index: z.number().int().min(1).max(255),
  setId: z.string().regex(/^[0-9a-f]{8,64}$/),
});
export type ShareRef = z.infer<typeof shareRefSchema>;

export const optionEntrySchema = z.strictObject({
  name: z.enum(RECORDABLE_OPTIONS),
  value: z.union([
    text(4096).refine(noPinValue, 'an option value must not carry pin-value'),
    z.number(),
    z.boolean(),
    z.array(text(4096).refine(noPinValue, 'an option value must not carry pin-value')).max(1000),
  ]),
});
export type OptionEntry = z.infer<typeof optionEntrySchema>;

/** What the first line commits to: how the ceremony was started and on what machine. */
/**
 * Rules the operator set aside for one ceremony, on its command line, recorded so the audit reviews
 * them as overrides: --allow-network (a networked machine), --allow-unverified (a payload signed
 * without its server signature checked).
 */
export const OVERRIDES = ['allow-network', 'allow-unverified'] as const;
export type Override = (typeof OVERRIDES)[number];

export const ceremonyParametersSchema = z.strictObject({
  /** The command as typed, without options, e.g. `ceremony sign`. */
  command: z.string().regex(/^ceremony( [a-z-]+){1,3}$/),
  options: z.array(optionEntrySchema).max(200),
  toolVersion: text(64),
  /** ceremony/airgap.ts requireAirGap(): the host's network status and whether it was overridden. */
  host: z.strictObject({
    airGapped: z.boolean(),
    interfacesUp: z.array(text(64)).max(64),
    overridden: z.boolean(),
  }),
  overrides: z.array(z.enum(OVERRIDES)).max(8),
  /** Whether a person was at a terminal (prompts) or the run was unattended (DESIGN §5). */
  attended: z.boolean(),
  /** init/renew: the quorum in force (renew: the old set whose k shares unlock the root token). */
  quorum: quorumRefSchema.optional(),
  /** sign: the builder-agreement rule in force (issue 15). */
  builders: builderRuleRefSchema.optional(),
  /** sign: the provenance policy in force (issue 15). */
  provenance: provenanceRuleRefSchema.optional(),
});
export type CeremonyParameters = z.infer<typeof ceremonyParametersSchema>;

/** One line of log.jsonl. Field order here is the order the writer serialises. */
export const ceremonyEventSchema = z.strictObject({
  v: z.literal(1),
  seq: z.number().int().min(1),
  time: isoUtc,
  ceremony: z.string().regex(/^[0-9a-f]{32}$/),
  kind: z.enum(CEREMONY_KINDS),
  step: z.enum(CEREMONY_STEPS),
  actor: actorSchema,
  result: z.enum(EVENT_RESULTS),
  detail: text(500),
  /** Only on 'ceremony-start'. */
  parameters: ceremonyParametersSchema.optional(),
  inputs: z.array(fileRefSchema).max(10000).optional(),
  outputs: z.array(fileRefSchema).max(10000).optional(),
  key: keyRefSchema.optional(),
  quorum: quorumRefSchema.optional(),
  share: shareRefSchema.optional(),
  agreement: agreementRefSchema.optional(),
  /** The CeremonyError code of a failure or refusal (e.g. DIGEST_MISMATCH). */
  code: z.string().regex(/^[A-Z][A-Z0-9_]{1,40}$/).optional(),
  /** SHA-256 (lower-case hex) of the previous line's bytes, without its trailing newline. */
  prev: z.string().regex(HEX64),
});
export type CeremonyEvent = z.infer<typeof ceremonyEventSchema>;

/** An event that parsed, with its line number in log.jsonl (1-based), as the review's rules see it. */
export interface NumberedEvent {
  line: number;
  event: CeremonyEvent;
}

/** What a ceremony passes to `CeremonyRecord.append`: the writer fills in seq, time, ids and prev. */
export const eventInputSchema = z.strictObject({
  step: z.enum(CEREMONY_STEPS).exclude(['ceremony-start', 'ceremony-end']),
  result: z.enum(EVENT_RESULTS).default('ok'),
  actor: actorSchema.optional(),
  detail: text(500),
  inputs: z.array(fileRefSchema).max(10000).optional(),
  outputs: z.array(fileRefSchema).max(10000).optional(),
  key: keyRefSchema.optional(),
  quorum: quorumRefSchema.optional(),
  share: shareRefSchema.optional(),
  agreement: agreementRefSchema.optional(),
  code: z.string().regex(/^[A-Z][A-Z0-9_]{1,40}$/).optional(),
});
export type EventInput = z.input<typeof eventInputSchema>;

export const ARTIFACT_ROLES = ['input', 'output'] as const;
export type ArtifactRole = (typeof ARTIFACT_ROLES)[number];

export const manifestArtifactSchema = z.strictObject({
  name: text(255),
  /** Where the artifact was: relative to the record's parent directory, or absolute. */
  path: text(4096),
  sha256: z.string().regex(HEX64),
  size: z.number().int().nonnegative(),
  role: z.enum(ARTIFACT_ROLES),
});
export type ManifestArtifact = z.infer<typeof manifestArtifactSchema>;

export const manifestSchema = z.strictObject({
  format: z.literal(RECORD_FORMAT),
  ceremony: z.string().regex(/^[0-9a-f]{32}$/),
  kind: z.enum(CEREMONY_KINDS),
  artifacts: z.array(manifestArtifactSchema).max(10000),
});
export type Manifest = z.infer<typeof manifestSchema>;
