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

/**
 * The same rules as the sign ceremony takes them (it loads the builders' certificates itself, before its record
 * opens), with the designated revokers' certificates the config lists, which the pinned ones need when they name one.
 */
export function signRulesFromConfig(configFile: string): { builders?: BuilderRule; provenance?: ProvenancePolicy; revokerKeys?: string[] } {
  const c = loadConfig(configFile);
  return {
    ...(c.builders ? { builders: c.builders } : {}),
    ...(c.provenance ? { provenance: loadProvenancePolicy(c.provenance) } : {}),
    ...(c.revokerKeys.length > 0 ? { revokerKeys: c.revokerKeys } : {}),
  };
}

/**
 * The config's `revokerKeys` (RFC 4880 §5.2.3.15): certificates of designated revokers, checked for revocations of
 * the pinned certificates only, as `--revoker-key` gives them on the command line. None without a config.
 */
export function revokerKeysFromConfig(configFile: string | undefined): string[] {
  return configFile ? loadConfig(configFile).revokerKeys : [];
}
