/**
 * The key ceremonies' config file (DESIGN §5): one JSON file, validated at the edge into a typed
 * CeremonyConfig with errors that name the field. Paths in it are relative to the config file's folder.
 * Unknown fields are refused, so a misspelt "treshold" is an error rather than a silently ignored line.
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { CeremonyError } from './errors.js';
import { readInputFile } from './files.js';
import { CUSTODIAN_NAME } from './quorum/share.js';
import { buildersConfigSchema, type BuilderRule } from './release/builders.js';
import { provenanceConfigSchema, type ProvenanceConfig } from './provenance/policy.js';

/** A config is small; anything larger is not one. */
export const MAX_CONFIG_BYTES = 256 * 1024;
/** More custodians than this is not a ceremony people can hold in one room (Shamir over GF(2^8) allows 255). */
export const MAX_CONFIG_CUSTODIANS = 64;

export interface CeremonyConfig {
  /** The absolute path of the config file itself. */
  path: string;
  hsm: {
    /** Absolute path of the PKCS#11 module; when absent, --module or CEREMONY_PKCS11_MODULE. */
    module?: string;
    /** Token label of the root token (initialized by `init` on a free slot). */
    rootToken: string;
    /** Token label of the signing token (initialized beforehand by the operators). */
    signingToken: string;
  };
  identity: { name: string; email: string };
  quorum: {
    threshold: number;
    /** In share order: share i goes to custodians[i - 1]. */
    custodians: { name: string; /** absolute path of an armored OpenPGP public key */ publicKey?: string }[];
  };
  keys: { subkeyValidityDays: number; overlapDays: number; renewWindowDays: number };
  /** Absolute paths of the pinned build-server certificates. */
  trustedBuildKeys: string[];
  /** Absolute paths of certificates of designated revokers the pinned ones name (checked for revocations only). */
  revokerKeys: string[];
  /** Independent builders that must agree on each release file (issue 15); absent: no such rule. */
  builders?: BuilderRule;
  /** The provenance policy every release file must meet (issue 15); key paths absolute. */
  provenance?: ProvenanceConfig;
}

const path = z.string().min(1, 'must be a path').max(4096);
const tokenLabel = z
  .string()
  .min(1, 'must be a token label')
  .refine((s) => Buffer.byteLength(s, 'utf8') <= 32, 'must be at most 32 bytes (PKCS#11 CK_TOKEN_INFO.label)');

const days = (min: number, max: number) =>
  z.int({ error: (i) => (i.code === 'too_small' || i.code === 'too_big' ? `must be between ${min} and ${max} days` : 'must be a whole number of days') }).min(min).max(max);

const Schema = z.strictObject({
  hsm: z.strictObject({
    module: path.optional(),
    rootToken: tokenLabel,
    signingToken: tokenLabel,
  }),
  identity: z.strictObject({
    name: z
      .string()
      .min(1, 'must not be empty')
      .max(128)
      .refine((s) => !/[<>\p{Cc}]/u.test(s), 'must not contain <, > or control characters (it becomes an OpenPGP user ID)'),
    email: z.string().max(254).regex(/^[^\s<>@]+@[^\s<>@]+$/, 'must be an e-mail address like security@example.org'),
  }),
  quorum: z.strictObject({
    threshold: z.int({ error: (i) => (i.code === 'too_small' ? 'must be at least 1' : 'must be a whole number') }).min(1),
    /** A threshold of 1 makes every custodian alone able to unlock the root key: only when said so. */
    allowThresholdOne: z.boolean().optional(),
    custodians: z
      .array(
        z.strictObject({
          name: z.string().regex(CUSTODIAN_NAME, 'must be 1-64 letters, digits, ".", "_" or "-", not starting with "." (it names the share file)'),
          publicKey: path.optional(),
        }),
      )
      .min(1, 'must list at least one custodian')
      .max(MAX_CONFIG_CUSTODIANS, `must list at most ${MAX_CONFIG_CUSTODIANS} custodians`),
  }),
  keys: z
    .strictObject({
      subkeyValidityDays: days(1, 3660).default(365),
      overlapDays: days(0, 365).default(30),
      renewWindowDays: days(0, 3660).default(60),
    })
    .default({ subkeyValidityDays: 365, overlapDays: 30, renewWindowDays: 60 }),
  trustedBuildKeys: z.array(path).max(64).default([]),
  revokerKeys: z.array(path).max(64).default([]),
  builders: buildersConfigSchema.optional(),
  provenance: provenanceConfigSchema.optional(),
});

function fieldName(p: readonly PropertyKey[]): string {
  let out = '';
  for (const k of p) out += typeof k === 'number' ? `[${k}]` : out === '' ? String(k) : `.${String(k)}`;
  return out || 'the top level';
}

function invalid(file: string, field: string, why: string): CeremonyError {
  return new CeremonyError('CONFIG_INVALID', `the config ${file}: ${field} ${why}`, { details: { config: file, field } });
}

/** Every field name the config knows, to suggest the one a misspelt name meant. */
const KNOWN_FIELDS = ['hsm', 'module', 'rootToken', 'signingToken', 'identity', 'name', 'email', 'quorum', 'threshold', 'allowThresholdOne', 'custodians', 'publicKey', 'keys', 'subkeyValidityDays', 'overlapDays', 'renewWindowDays', 'trustedBuildKeys'];

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length]![b.length]!;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const unknown = String(issue.keys[0]).slice(0, 60);
    const near = KNOWN_FIELDS.find((k) => editDistance(k.toLowerCase(), unknown.toLowerCase()) <= 2);
    return `has an unknown field '${unknown}'${near ? ` (did you mean '${near}'?)` : ''}; the README lists every field, and ceremony config example prints them all`;
  }
  if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) return `is missing (expected ${issue.expected})`;
  const m = issue.message.replace(/^Invalid input: /, '');
  return /^(must|is|has) /.test(m) ? m : `is invalid: ${m.charAt(0).toLowerCase()}${m.slice(1)}`;
}

/** Validate an already parsed config object; `file` is its absolute path (for messages and relative paths). */
export function parseConfig(raw: unknown, file: string): CeremonyConfig {
  const r = Schema.safeParse(raw);
  if (!r.success) {
    // An unknown field first: a misspelt "treshold" also makes "threshold" missing, and the misspelling
    // is the cause (issue 13).
    const issue = r.error.issues.find((i) => i.code === 'unrecognized_keys') ?? r.error.issues[0]!;
    throw invalid(file, fieldName(issue.path), describeIssue(issue));
  }
  const c = r.data;
  const n = c.quorum.custodians.length;
  if (c.quorum.threshold > n) throw invalid(file, 'quorum.threshold', `is ${c.quorum.threshold}, more than the ${n} custodians listed: a quorum of ${c.quorum.threshold} needs at least ${c.quorum.threshold} custodians`);
  if (c.quorum.threshold < 2 && c.quorum.allowThresholdOne !== true) {
    throw invalid(file, 'quorum.threshold', 'is 1, so any one custodian alone could unlock the root key; use 2 or more, or set "allowThresholdOne": true in quorum if that is really meant');
  }
  const seen = new Map<string, number>();
  c.quorum.custodians.forEach((cu, i) => {
    // Case-insensitive: the names become file names, and some file systems ignore case.
    const key = cu.name.toLowerCase();
    if (seen.has(key)) throw invalid(file, `quorum.custodians[${i}].name`, `"${cu.name}" is listed twice (also quorum.custodians[${seen.get(key)}].name): each custodian holds one share, so names must differ (case is ignored)`);
    seen.set(key, i);
  });
  if (c.hsm.rootToken === c.hsm.signingToken) throw invalid(file, 'hsm.rootToken', 'must differ from hsm.signingToken (the root key lives on its own token)');
  const base = dirname(file);
  const abs = (p: string) => resolve(base, p);
  return {
    path: file,
    hsm: { ...(c.hsm.module !== undefined ? { module: abs(c.hsm.module) } : {}), rootToken: c.hsm.rootToken, signingToken: c.hsm.signingToken },
    identity: c.identity,
    quorum: {
      threshold: c.quorum.threshold,
      custodians: c.quorum.custodians.map((cu) => ({ name: cu.name, ...(cu.publicKey !== undefined ? { publicKey: abs(cu.publicKey) } : {}) })),
    },
    keys: c.keys,
    trustedBuildKeys: c.trustedBuildKeys.map(abs),
    revokerKeys: c.revokerKeys.map(abs),
    ...(c.builders ? { builders: { threshold: c.builders.threshold, members: c.builders.members.map((m) => ({ name: m.name, certificates: m.certificates.map(abs) })) } } : {}),
    ...(c.provenance ? { provenance: { ...c.provenance, keys: c.provenance.keys.map(abs) } } : {}),
  };
}

/** Read and validate the config file at `path` (relative to the working directory). */
export function loadConfig(path: string): CeremonyConfig {
  const file = resolve(path);
  let raw: unknown;
  const bytes = readInputFile(file, 'config file', MAX_CONFIG_BYTES);
  try {
    raw = JSON.parse(stripLineComments(bytes.toString('utf8')));
  } catch (e) {
    throw new CeremonyError('CONFIG_INVALID', `the config ${file} is not valid JSON: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  return parseConfig(raw, file);
}

/**
 * The config may carry `//` comments to the end of a line (as `ceremony config example` prints it):
 * they are blanked out, outside JSON strings only, keeping line and column numbers for JSON errors.
 */
export function stripLineComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') {
        out += ' ';
        i++;
      }
      if (i < text.length) out += '\n';
    } else out += c;
  }
  return out;
}

/** An annotated config to start from (`ceremony config example`): every field, what it means. */
export const EXAMPLE_CONFIG = `// The ceremony config: JSON, with // comments allowed. Paths are relative to this file's folder.
// Every field is described in the README ("The ceremony config"). Unknown fields are refused.
{
  "hsm": {
    // The PKCS#11 module (optional: else --module or CEREMONY_PKCS11_MODULE).
    "module": "/usr/lib/softhsm/libsofthsm2.so",
    // Label of the root token: a free (uninitialized) slot that init turns into the root token.
    "rootToken": "root",
    // Label of the signing token, initialized beforehand (softhsm2-util --init-token ...); its PIN is the maintainers'.
    "signingToken": "signing"
  },
  // The OpenPGP user ID of the release signing certificate: "name <email>".
  "identity": { "name": "Example Image Signing Key", "email": "security@example.org" },
  "quorum": {
    // How many custodians must come together to unlock the root key (2 or more;
    // 1 only with "allowThresholdOne": true). At most the number of custodians.
    "threshold": 3,
    // In share order: share 1 goes to the first. Names: letters, digits, ".", "_", "-"; all different.
    // "publicKey" (optional): an armored OpenPGP key; that custodian's share is encrypted to it.
    "custodians": [
      { "name": "alice", "publicKey": "custodians/alice.asc" },
      { "name": "bob" },
      { "name": "carol" },
      { "name": "dave" },
      { "name": "erin" }
    ]
  },
  // Optional, in days: how long each yearly signing subkey is valid, the overlap with the next one,
  // and how early before expiry a renewal may start (these are the defaults).
  "keys": { "subkeyValidityDays": 365, "overlapDays": 30, "renewWindowDays": 60 },
  // Optional: the pinned build server certificates for sign --config (instead of --trusted-key).
  "trustedBuildKeys": ["keys/build-server.asc"]
}
`;
