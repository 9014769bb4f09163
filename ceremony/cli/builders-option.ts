/**
 * The builder-agreement rule and the provenance policy for `verify` and `sign` (issue 15): taken from the ceremony config's `builders`
 * section when --config is given; without it there is no such rule (the build server alone is trusted).
 */
import { resolve } from 'node:path';
import { loadConfig } from '../config.js';
import type { BuilderRule } from '../release/builders.js';
import { describeVerdict, type AgreementResult } from '../release/agreement.js';
import type { CliContext } from './context.js';
import { loadProvenancePolicy, type ProvenancePolicy } from '../provenance/policy.js';
import type { ProvenanceVerification } from '../provenance/check.js';

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
