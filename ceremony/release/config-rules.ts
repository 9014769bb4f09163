/**
 * The release rules a ceremony config adds to verification (issue 15): its builders rule, with each builder's
 * certificates loaded, and its provenance policy, with its keys loaded. Used by the app's worker, which is given
 * the config file; absent sections add no rule.
 */
import { loadConfig } from '../config.js';
import { loadProvenancePolicy, type ProvenancePolicy } from '../provenance/policy.js';
import { loadBuilderSet, type BuilderRule, type BuilderSet } from './builders.js';

export interface ConfigReleaseRules {
  builders?: BuilderSet;
  provenance?: ProvenancePolicy;
}

export async function releaseRulesFromConfig(configFile: string | undefined, now: Date): Promise<ConfigReleaseRules> {
  if (!configFile) return {};
  const c = loadConfig(configFile);
  return {
    ...(c.builders ? { builders: await loadBuilderSet(c.builders, now) } : {}),
    ...(c.provenance ? { provenance: loadProvenancePolicy(c.provenance) } : {}),
  };
}

/** The same rules as the sign ceremony takes them (it loads the builders' certificates itself, before its record opens). */
export function signRulesFromConfig(configFile: string): { builders?: BuilderRule; provenance?: ProvenancePolicy } {
  const c = loadConfig(configFile);
  return { ...(c.builders ? { builders: c.builders } : {}), ...(c.provenance ? { provenance: loadProvenancePolicy(c.provenance) } : {}) };
}
