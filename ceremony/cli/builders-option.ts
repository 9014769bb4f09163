/**
 * The builder-agreement rule for `verify` and `sign` (issue 15): taken from the ceremony config's `builders`
 * section when --config is given; without it there is no such rule (the build server alone is trusted).
 */
import { resolve } from 'node:path';
import { loadConfig } from '../config.js';
import type { BuilderRule } from '../release/builders.js';
import { describeVerdict, type AgreementResult } from '../release/agreement.js';
import type { CliContext } from './context.js';

export function builderRuleFor(ctx: CliContext, configFile: string | undefined): BuilderRule | undefined {
  return configFile ? loadConfig(resolve(ctx.cwd, configFile)).builders : undefined;
}

/** The lines `verify` and `sign` print under a file: who agreed, who disagreed (with the digest), who is missing. */
export function agreementLines(a: AgreementResult): string[] {
  return [
    `  builders ${a.agreed.length} of ${a.builders.length} agree, ${a.threshold} required: ${a.met ? 'met' : 'NOT met'}`,
    ...a.builders.map((v) => `           ${describeVerdict(v)}`),
  ];
}
