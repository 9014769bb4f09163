/**
 * The provenance check before signing (issue 15). A release file's provenance is FILE.intoto.jsonl: a DSSE
 * envelope holding an in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md)
 * with a SLSA Provenance v1 predicate (https://slsa.dev/spec/v1.0/provenance). It is trusted when a pinned
 * provenance key signed the envelope, or when the build server's signed DIGESTS lists the provenance file with the
 * SHA-512 it has. Then, in this order, each with its own code:
 *   PROVENANCE_SUBJECT_MISMATCH        no subject carries the file's digest from the same read (SHA-256/SHA-512)
 *   PROVENANCE_BUILDER_NOT_ALLOWED     runDetails.builder.id is not an allowed builder
 *   PROVENANCE_BUILD_TYPE_NOT_ALLOWED  buildDefinition.buildType is not allowed
 *   PROVENANCE_PARAMETER_UNKNOWN       an externalParameters name the policy does not list (it could change the build)
 *   PROVENANCE_SOURCE_NOT_ALLOWED      the source repository differs, or its ref is outside the pattern
 *   PROVENANCE_DEPENDENCY_MISSING      a required resolved dependency is absent or has no digest
 */
import { basename } from 'node:path';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { constantTimeEqual } from '../crypto.js';
import { CeremonyError } from '../errors.js';
import { fileExists, readInputFile } from '../files.js';
import type { DigestEntry } from '../digests/parse.js';
import { MAX_PROVENANCE_BYTES, parseEnvelope, verifyEnvelope } from './envelope.js';
import type { ProvenancePolicy } from './policy.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';

const digestSet = z.record(z.string().max(64), z.string().max(256));
// Only the fields the policy reads are typed; the rest of the predicate is allowed through unread (SLSA v1 has more).
const statementSchema = z.object({
  _type: z.literal(STATEMENT_TYPE),
  subject: z.array(z.object({ name: z.string().max(1024).optional(), digest: digestSet })).min(1).max(10000),
  predicateType: z.literal(SLSA_PROVENANCE_V1),
  predicate: z.object({
    buildDefinition: z.object({
      buildType: z.string().max(2048),
      externalParameters: z.record(z.string(), z.unknown()),
      resolvedDependencies: z.array(z.object({ uri: z.string().max(2048).optional(), digest: digestSet.optional(), name: z.string().max(1024).optional() })).max(10000).optional(),
    }),
    runDetails: z.object({ builder: z.object({ id: z.string().max(2048) }) }),
  }),
});

export type ProvenanceStatement = z.infer<typeof statementSchema>;

export interface ProvenanceVerification {
  source: string;
  /** How the statement came to be trusted. */
  trustedBy: { kind: 'dsse-key'; keyid: string; key: string } | { kind: 'signed-digests'; digests: string };
  builderId: string;
  buildType: string;
  repository: string;
  ref: string;
}

/** Where a file's provenance is: FILE.intoto.jsonl (slsa-github-generator's name), or null. */
export function findProvenanceFor(file: string, exists: (p: string) => boolean = fileExists): string | null {
  const p = `${file}.intoto.jsonl`;
  return exists(p) ? p : null;
}

function refuse(code: ConstructorParameters<typeof CeremonyError>[0], message: string): never {
  throw new CeremonyError(code, message);
}

/** Trust: a pinned DSSE key, else the build server's signed DIGESTS listing the provenance file's SHA-512. */
function trust(bytes: Buffer, source: string, env: ReturnType<typeof parseEnvelope>, policy: ProvenancePolicy, signed?: { entries: readonly DigestEntry[]; source: string }): ProvenanceVerification['trustedBy'] {
  try {
    const k = verifyEnvelope(env, policy.keys, source);
    return { kind: 'dsse-key', keyid: k.keyid, key: k.source };
  } catch (e) {
    const listed = signed?.entries.find((x) => x.name === basename(source) && x.algorithm === 'sha512');
    if (!listed) throw e;
    const have = createHash('sha512').update(bytes).digest();
    if (!constantTimeEqual(have, Buffer.from(listed.hex, 'hex'))) {
      refuse('PROVENANCE_UNTRUSTED', `${source} is not signed by a pinned provenance key, and its SHA-512 differs from the one ${signed!.source} lists for it`);
    }
    return { kind: 'signed-digests', digests: signed!.source };
  }
}

function parseStatement(payload: Buffer, source: string): ProvenanceStatement {
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString('utf8'));
  } catch (e) {
    throw new CeremonyError('PROVENANCE_MALFORMED', `${source}: the envelope's payload is not JSON`, { cause: e });
  }
  const r = statementSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new CeremonyError('PROVENANCE_MALFORMED', `${source}: not an in-toto Statement v1 with a SLSA Provenance v1 predicate (${i.path.join('.') || 'top level'}: ${i.message})`);
  }
  return r.data;
}

/** The subject rule: some subject lists SHA-256 or SHA-512, and every one of those it lists equals the file's. */
function checkSubject(st: ProvenanceStatement, file: string, computed: Readonly<Record<string, Uint8Array>>, source: string): void {
  const ours = (['sha256', 'sha512'] as const).filter((a) => computed[a]);
  const matches = st.subject.some((s) => {
    const listed = ours.filter((a) => typeof s.digest[a] === 'string');
    return listed.length > 0 && listed.every((a) => /^[0-9a-f]+$/i.test(s.digest[a]!) && constantTimeEqual(Buffer.from(s.digest[a]!, 'hex'), computed[a]!));
  });
  if (!matches) {
    const hex = Buffer.from(computed.sha256 ?? computed.sha512!).toString('hex');
    refuse('PROVENANCE_SUBJECT_MISMATCH', `${source} describes another artifact: no subject has the digest of ${basename(file)} (SHA-256 ${hex}) read in this ceremony`);
  }
}

function checkPolicy(st: ProvenanceStatement, policy: ProvenancePolicy, source: string): { repository: string; ref: string } {
  const { buildDefinition: def, runDetails } = st.predicate;
  if (!policy.builderIds.includes(runDetails.builder.id)) {
    refuse('PROVENANCE_BUILDER_NOT_ALLOWED', `${source} was built by "${runDetails.builder.id}", which is not an allowed builder.id (${policy.builderIds.join(', ')})`);
  }
  if (!policy.buildTypes.includes(def.buildType)) {
    refuse('PROVENANCE_BUILD_TYPE_NOT_ALLOWED', `${source} has buildType "${def.buildType}", which is not allowed (${policy.buildTypes.join(', ')})`);
  }
  const allowed = new Set([...policy.allowedExternalParameters, policy.source.parameter]);
  const unknown = Object.keys(def.externalParameters).filter((k) => !allowed.has(k));
  if (unknown.length > 0) {
    refuse('PROVENANCE_PARAMETER_UNKNOWN', `${source} has external parameter(s) ${unknown.map((k) => `"${k}"`).join(', ')} the policy does not allow; an unknown parameter could have changed the build`);
  }
  const src = def.externalParameters[policy.source.parameter] as { repository?: unknown; ref?: unknown } | undefined;
  const repository = typeof src?.repository === 'string' ? src.repository : '';
  const ref = typeof src?.ref === 'string' ? src.ref : '';
  if (repository !== policy.source.repository) {
    refuse('PROVENANCE_SOURCE_NOT_ALLOWED', `${source} was built from repository "${repository || '(none)'}", not ${policy.source.repository} (externalParameters.${policy.source.parameter}.repository)`);
  }
  if (!policy.source.refPattern.test(ref)) {
    refuse('PROVENANCE_SOURCE_NOT_ALLOWED', `${source} was built from ref "${ref || '(none)'}", outside the allowed pattern ${policy.source.refPattern.source}`);
  }
  const deps = def.resolvedDependencies ?? [];
  for (const need of policy.requiredDependencies) {
    const dep = deps.find((d) => d.uri !== undefined && (d.uri === need || d.uri.startsWith(`${need}@`)));
    if (!dep || !dep.digest || Object.keys(dep.digest).length === 0) {
      refuse('PROVENANCE_DEPENDENCY_MISSING', `${source} does not list the required resolved dependency ${need}${dep ? ' with a digest' : ''}`);
    }
  }
  return { repository, ref };
}

/**
 * Check FILE's provenance against the policy, given the digests of FILE from its one read and, when there is
 * one, the build server's verified DIGESTS entries. Throws the failed rule; returns what was established.
 */
export function checkProvenance(
  file: string,
  computed: Readonly<Record<string, Uint8Array>>,
  policy: ProvenancePolicy,
  signedDigests?: { entries: readonly DigestEntry[]; source: string },
): ProvenanceVerification {
  const source = findProvenanceFor(file);
  if (!source) refuse('PROVENANCE_MISSING', `${basename(file)} has no provenance (looked for ${file}.intoto.jsonl), and the policy requires one`);
  const bytes = readInputFile(source, 'provenance', MAX_PROVENANCE_BYTES);
  const env = parseEnvelope(bytes, source);
  const trustedBy = trust(bytes, source, env, policy, signedDigests);
  const st = parseStatement(env.payload, source);
  checkSubject(st, file, computed, source);
  const { repository, ref } = checkPolicy(st, policy, source);
  return { source, trustedBy, builderId: st.predicate.runDetails.builder.id, buildType: st.predicate.buildDefinition.buildType, repository, ref };
}
