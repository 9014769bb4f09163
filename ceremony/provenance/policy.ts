/**
 * The provenance policy of the ceremony config (issue 15): which SLSA builders, build types, source repository
 * and refs, and resolved dependencies a release file's provenance must show before the ceremony signs it, and
 * which keys may sign provenance envelopes (DSSE). Parsed at the edge (zod) and the keys loaded here, each
 * checked to be ed25519, ECDSA P-256 or RSA of at least 2048 bits.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { spkiSha256Hex } from '../crypto.js';
import { z } from 'zod';
import { CeremonyError } from '../errors.js';
import { readInputFile } from '../files.js';

const uri = z.string().min(1).max(2048);

/** The `provenance` section of the ceremony config (used by ceremony/config.ts). */
export const provenanceConfigSchema = z.strictObject({
  /** Public keys (SPKI PEM) whose DSSE signatures make provenance trusted. */
  keys: z.array(z.string().min(1).max(4096)).max(16).default([]),
  /** Allowed `runDetails.builder.id` values (exact). */
  builderIds: z.array(uri).min(1, 'must allow at least one builder.id').max(32),
  /** Allowed `buildDefinition.buildType` values (exact). */
  buildTypes: z.array(uri).min(1, 'must allow at least one buildType').max(32),
  source: z.strictObject({
    /**
     * The external parameter holding `{ repository, ref }`: `workflow` in GitHub Actions' buildType
     * (https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1), the default.
     */
    parameter: z.string().min(1).max(128).default('workflow'),
    /** The source repository, e.g. `https://github.com/flatcar/scripts`. */
    repository: uri,
    /** A regular expression the whole source ref must match, e.g. `refs/tags/stable-[0-9.]+`. */
    refPattern: z.string().min(1).max(512).refine((s) => {
      try {
        new RegExp(s);
        return true;
      } catch {
        return false;
      }
    }, 'must be a valid regular expression'),
  }),
  /** URIs (without `@version`) that must appear among `resolvedDependencies`, each with a digest. */
  requiredDependencies: z.array(uri).max(64).default([]),
  /** The only `externalParameters` names allowed; any other is refused. */
  allowedExternalParameters: z.array(z.string().min(1).max(128)).max(64).default([]),
});

export type ProvenanceConfig = z.infer<typeof provenanceConfigSchema>;

export interface ProvenanceKey {
  /** DSSE keyid: lower-case hex SHA-256 of the key's SPKI (DER), as the envelope's `keyid` names it. */
  keyid: string;
  source: string;
  key: KeyObject;
  /** Node's name for the signature algorithm: undefined for ed25519 (pure), 'sha256' for ECDSA P-256 and RSA. */
  hash: 'sha256' | undefined;
}

export interface ProvenancePolicy {
  keys: ProvenanceKey[];
  builderIds: string[];
  buildTypes: string[];
  source: { parameter: string; repository: string; refPattern: RegExp };
  requiredDependencies: string[];
  allowedExternalParameters: string[];
}

export function keyidOf(key: KeyObject): string {
  return spkiSha256Hex(key);
}

/** A pinned DSSE key: SPKI PEM of ed25519, ECDSA P-256 or RSA ≥ 2048 bits; anything else is refused. */
export function loadProvenanceKey(path: string): ProvenanceKey {
  let key: KeyObject;
  try {
    key = createPublicKey(readInputFile(path, 'provenance key', 64 * 1024));
  } catch (e) {
    if (e instanceof CeremonyError) throw e;
    throw new CeremonyError('CONFIG_INVALID', `the provenance key ${path} is not a PEM public key`, { cause: e });
  }
  const d = key.asymmetricKeyDetails ?? {};
  let hash: ProvenanceKey['hash'];
  if (key.asymmetricKeyType === 'ed25519') hash = undefined;
  else if (key.asymmetricKeyType === 'ec' && d.namedCurve === 'prime256v1') hash = 'sha256';
  else if (key.asymmetricKeyType === 'rsa' && (d.modulusLength ?? 0) >= 2048) hash = 'sha256';
  else throw new CeremonyError('CONFIG_INVALID', `the provenance key ${path} is ${key.asymmetricKeyType}${d.namedCurve ? ` ${d.namedCurve}` : ''}${d.modulusLength ? ` ${d.modulusLength} bits` : ''}; only ed25519, ECDSA P-256 or RSA of 2048 bits or more are accepted`);
  return { keyid: keyidOf(key), source: path, key, hash };
}

/** From the validated config section (paths already absolute) to the policy the check applies. */
export function loadProvenancePolicy(c: ProvenanceConfig): ProvenancePolicy {
  return {
    keys: c.keys.map(loadProvenanceKey),
    builderIds: c.builderIds,
    buildTypes: c.buildTypes,
    // Anchored: the pattern must match the whole ref, not a part of it ("refs/tags/stable-1" inside "refs/heads/evil-refs/tags/stable-1").
    source: { parameter: c.source.parameter, repository: c.source.repository, refPattern: new RegExp(`^(?:${c.source.refPattern})$`) },
    requiredDependencies: c.requiredDependencies,
    allowedExternalParameters: c.allowedExternalParameters,
  };
}
