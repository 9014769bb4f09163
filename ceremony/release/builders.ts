/**
 * Independent builders (issue 15): the config names several builders, each with its own pinned certificate(s),
 * and a rule "at least K of them must agree". This file is the edge: the config's `builders` section (schema),
 * the pinned certificates loaded per builder, and where a builder's signed DIGESTS for a release file is found.
 * Judging the agreement is agreement.ts.
 *
 * A key counts for one builder only: the same certificate or key pinned for two builders would let one
 * signer be counted twice, so such a config is refused outright (BUILDERS_KEY_SHARED is a CONFIG_INVALID).
 */
import { z } from 'zod';
import { CeremonyError } from '../errors.js';
import { fileExists, readInputFile } from '../files.js';
import { isClearsigned } from '../digests/signed.js';
import { loadTrustedCertificates, type TrustedCertificate } from '../openpgp/verify/certificate.js';

/** A builder's name becomes part of a file name (FILE.DIGESTS.<name>.asc): plain characters only. */
export const BUILDER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MAX_BUILDERS = 16;

/** The `builders` section of the ceremony config (zod, used by ceremony/config.ts). */
export const buildersConfigSchema = z
  .strictObject({
    threshold: z.int({ error: (i) => (i.code === 'too_small' ? 'must be at least 1' : 'must be a whole number') }).min(1),
    members: z
      .array(
        z.strictObject({
          name: z.string().regex(BUILDER_NAME, 'must be 1-64 lower-case letters, digits, ".", "_" or "-" (it names the DIGESTS file FILE.DIGESTS.<name>.asc)'),
          certificates: z.array(z.string().min(1).max(4096)).min(1, 'must pin at least one certificate').max(8),
        }),
      )
      .min(1, 'must list at least one builder')
      .max(MAX_BUILDERS, `must list at most ${MAX_BUILDERS} builders`),
  })
  .superRefine((b, ctx) => {
    if (b.threshold > b.members.length) ctx.addIssue({ code: 'custom', path: ['threshold'], message: `is ${b.threshold}, more than the ${b.members.length} builders listed` });
    const seen = new Set<string>();
    b.members.forEach((m, i) => {
      if (seen.has(m.name)) ctx.addIssue({ code: 'custom', path: ['members', i, 'name'], message: `"${m.name}" is listed twice` });
      seen.add(m.name);
    });
  });

export interface BuilderRule {
  threshold: number;
  /** Certificate paths are absolute (config.ts resolves them against the config's folder). */
  members: { name: string; certificates: string[] }[];
}

export interface LoadedBuilder {
  name: string;
  trusted: TrustedCertificate[];
  /** Primary fingerprints of its pinned certificates (what the record names). */
  fingerprints: string[];
}

export interface BuilderSet {
  threshold: number;
  builders: LoadedBuilder[];
}

/** Every key fingerprint (primary and subkeys) of a certificate. */
function keyFingerprints(c: TrustedCertificate): string[] {
  return [c.description.fingerprint, ...c.description.subkeys.map((s) => s.fingerprint)];
}

/**
 * Load each builder's pinned certificates. Refused (CONFIG_INVALID) when one key is pinned for two builders:
 * "K independent builders" means K different signers, and a shared key would make one signer count twice.
 */
export async function loadBuilderSet(rule: BuilderRule, now: Date): Promise<BuilderSet> {
  const owner = new Map<string, string>();
  const builders: LoadedBuilder[] = [];
  for (const m of rule.members) {
    const trusted = await loadTrustedCertificates(m.certificates, now);
    for (const c of trusted) {
      for (const fpr of keyFingerprints(c)) {
        const other = owner.get(fpr);
        if (other !== undefined && other !== m.name) {
          throw new CeremonyError('CONFIG_INVALID', `builders "${other}" and "${m.name}" both pin key ${fpr}; each builder must have its own key, or one signer would count twice`);
        }
        owner.set(fpr, m.name);
      }
    }
    builders.push({ name: m.name, trusted, fingerprints: trusted.map((c) => c.description.fingerprint) });
  }
  return { threshold: rule.threshold, builders };
}

/**
 * Where builder NAME's signed DIGESTS for FILE is: the clearsigned FILE.DIGESTS.NAME.asc, else FILE.DIGESTS.NAME
 * (with its .sig/.asc beside it, as for the build server's own DIGESTS). null when the builder published none.
 */
export function findBuilderDigests(file: string, name: string, exists: (p: string) => boolean = fileExists): string | null {
  const asc = `${file}.DIGESTS.${name}.asc`;
  if (exists(asc)) {
    try {
      if (isClearsigned(readInputFile(asc, 'DIGESTS file', 1024 * 1024))) return asc;
    } catch {
      // unreadable here: fall through; loading the plain file reports properly
    }
  }
  const plain = `${file}.DIGESTS.${name}`;
  return exists(plain) ? plain : null;
}
