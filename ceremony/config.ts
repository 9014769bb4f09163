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
});

function fieldName(p: readonly PropertyKey[]): string {
  let out = '';
  for (const k of p) out += typeof k === 'number' ? `[${k}]` : out === '' ? String(k) : `.${String(k)}`;
  return out || 'the top level';
}

function invalid(file: string, field: string, why: string): CeremonyError {
  return new CeremonyError('CONFIG_INVALID', `the config ${file}: ${field} ${why}`, { details: { config: file, field } });
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `has an unknown field "${issue.keys[0]}" (misspelt?)`;
  if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) return `is missing (expected ${issue.expected})`;
  const m = issue.message.replace(/^Invalid input: /, '');
  return /^(must|is|has) /.test(m) ? m : `is invalid: ${m.charAt(0).toLowerCase()}${m.slice(1)}`;
}

/** Validate an already parsed config object; `file` is its absolute path (for messages and relative paths). */
export function parseConfig(raw: unknown, file: string): CeremonyConfig {
  const r = Schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw invalid(file, fieldName(issue.path), describeIssue(issue));
  }
  const c = r.data;
  const n = c.quorum.custodians.length;
  if (c.quorum.threshold > n) throw invalid(file, 'quorum.threshold', `is ${c.quorum.threshold}, more than the ${n} custodians listed`);
  const seen = new Map<string, number>();
  c.quorum.custodians.forEach((cu, i) => {
    // Case-insensitive: the names become file names, and some file systems ignore case.
    const key = cu.name.toLowerCase();
    if (seen.has(key)) throw invalid(file, `quorum.custodians[${i}].name`, `"${cu.name}" repeats quorum.custodians[${seen.get(key)}].name`);
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
  };
}

/** Read and validate the config file at `path` (relative to the working directory). */
export function loadConfig(path: string): CeremonyConfig {
  const file = resolve(path);
  let raw: unknown;
  const bytes = readInputFile(file, 'config file', MAX_CONFIG_BYTES);
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new CeremonyError('CONFIG_INVALID', `the config ${file} is not valid JSON: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  return parseConfig(raw, file);
}
