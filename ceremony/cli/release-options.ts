/**
 * The release rules of `verify` and `sign` as the command line and the ceremony config give them: the pinned
 * build-server certificates and their designated revokers, the builder-agreement rule and the provenance policy
 * (issue 15; without a `builders` section there is no such rule: the build server alone is trusted). Apart from
 * ceremony-options.ts, which every ceremony command loads, so that a command without these options does not load
 * the config's schemas and the release verifier they bring.
 */
import { resolve } from 'node:path';
import { loadConfig } from '../config.js';
import { CeremonyError } from '../errors.js';
import { revokerKeysFromConfig } from '../release/config-rules.js';
import type { BuilderRule } from '../release/builders.js';
import { describeVerdict, type AgreementResult } from '../release/agreement.js';
import type { CliContext } from './context.js';
import { loadProvenancePolicy, type ProvenancePolicy } from '../provenance/policy.js';
import type { ProvenanceVerification } from '../provenance/check.js';

/**
 * The pinned build-server certificates: `--trusted-key` (repeatable), else the config's
 * `trustedBuildKeys`. Nothing is trusted implicitly: with neither, the command is refused.
 */
export function trustedKeyPaths(ctx: CliContext, trustedKey: string[] | undefined, configFile: string | undefined): string[] {
  if (trustedKey && trustedKey.length > 0) return trustedKey.map((f) => resolve(ctx.cwd, f));
  if (configFile) {
    const keys = loadConfig(resolve(ctx.cwd, configFile)).trustedBuildKeys;
    if (keys.length > 0) return keys;
    throw new CeremonyError('USAGE', `the config ${configFile} lists no trustedBuildKeys; give --trusted-key CERT.asc`);
  }
  throw new CeremonyError('USAGE', 'give the build server certificate with --trusted-key CERT.asc (or --config with trustedBuildKeys); no keyring is consulted (see the command\'s --help)');
}

/**
 * Certificates of designated revokers (RFC 4880 §5.2.3.15) the pinned certificates name: `--revoker-key`
 * (repeatable), else the config's `revokerKeys` with --config. They are used only to check revocations.
 */
export function revokerKeyPaths(ctx: CliContext, revokerKey: string[] | undefined, configFile: string | undefined): string[] {
  if (revokerKey && revokerKey.length > 0) return revokerKey.map((f) => resolve(ctx.cwd, f));
  return revokerKeysFromConfig(configFile === undefined ? undefined : resolve(ctx.cwd, configFile));
}

export function builderRuleFor(ctx: CliContext, configFile: string | undefined): BuilderRule | undefined {
  return configFile ? loadConfig(resolve(ctx.cwd, configFile)).builders : undefined;
}

/** The config's provenance policy, its keys loaded (refused when a key is not an accepted type). */
export function provenancePolicyFor(ctx: CliContext, configFile: string | undefined): ProvenancePolicy | undefined {
  const c = configFile ? loadConfig(resolve(ctx.cwd, configFile)).provenance : undefined;
  return c ? loadProvenancePolicy(c) : undefined;
}

export function provenanceLines(p: ProvenanceVerification): string[] {
  const by = p.trustedBy.kind === 'dsse-key' ? `DSSE key ${p.trustedBy.keyid.slice(0, 16)}… (${p.trustedBy.key})` : `listed in ${p.trustedBy.digests}`;
  return [`  provenance  ${p.source}, trusted by ${by}`, `           builder ${p.builderId}`, `           source  ${p.repository} ${p.ref}`];
}

/** The lines `verify` and `sign` print under a file: who agreed, who disagreed (with the digest), who is missing. */
export function agreementLines(a: AgreementResult): string[] {
  return [
    `  builders ${a.agreed.length} of ${a.builders.length} agree, ${a.threshold} required: ${a.met ? 'met' : 'NOT met'}`,
    ...a.builders.map((v) => `           ${describeVerdict(v)}`),
  ];
}
