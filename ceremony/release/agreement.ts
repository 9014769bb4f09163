/**
 * Builder agreement (issue 15): a release file is signable only when at least K independent builders' signed
 * DIGESTS list it with the same digests, and the file read in this ceremony has exactly those digests.
 * It answers "was the build server compromised?" the way Debian's and Arch's rebuilders do: a tampered image
 * is signed by the compromised server, but not reproduced by the others.
 *
 * Per file, every configured builder ends in one of three states:
 *   agreed     its DIGESTS verified under the usual signature rules, by one of ITS OWN pinned keys, lists the
 *              file (with SHA-512) and every digest it lists equals the one computed in the file's single read;
 *   disagreed  the same, but at least one listed digest differs (the builder and the differing digest are named);
 *   missing    no DIGESTS, a DIGESTS that does not verify under its own keys (e.g. signed by another builder or
 *              an unpinned key), or one that does not list the file.
 * The file is refused when any builder disagrees (BUILDERS_DISAGREE: a verified, conflicting build is evidence,
 * not noise, and is never outvoted) or fewer than K agree (BUILDERS_QUORUM_NOT_MET). Each builder counts at
 * most once: it has one state, and builders.ts refuses a key pinned for two builders.
 */
import { basename } from 'node:path';
import { constantTimeEqual } from '../crypto.js';
import { CeremonyError, asCeremonyError, type ErrorCode } from '../errors.js';
import { digestsForFile, type DigestAlgorithm, type DigestEntry } from '../digests/parse.js';
import { loadSignedDigests, type SignedDigests } from '../digests/signed.js';
import type { SignatureRules, SignerIdentity } from '../openpgp/verify/rules.js';
import { findBuilderDigests, type BuilderSet, type LoadedBuilder } from './builders.js';

export type BuilderListing =
  | { builder: string; status: 'listed'; source: string; signer: SignerIdentity; entries: DigestEntry[] }
  | { builder: string; status: 'missing'; code: ErrorCode; reason: string };

export interface BuilderVerdict {
  builder: string;
  state: 'agreed' | 'disagreed' | 'missing';
  /** The DIGESTS file that was read (agreed/disagreed). */
  source?: string;
  /** The key that signed it (agreed/disagreed). */
  keyFingerprint?: string;
  /** disagreed: the first digest that differs. */
  difference?: { algorithm: DigestAlgorithm; listed: string; computed: string; line: number };
  /** missing: why it does not count. */
  code?: ErrorCode;
  reason?: string;
}

export interface AgreementResult {
  threshold: number;
  met: boolean;
  agreed: string[];
  disagreed: string[];
  missing: string[];
  builders: BuilderVerdict[];
}

/** A builder's DIGESTS is read once per ceremony even when it lists many files. */
export type ListingCache = Map<string, Promise<SignedDigests>>;

async function readListing(file: string, builder: LoadedBuilder, base: SignatureRules, cache: ListingCache): Promise<BuilderListing> {
  const path = findBuilderDigests(file, builder.name);
  if (!path) return { builder: builder.name, status: 'missing', code: 'DIGEST_MISSING', reason: `builder ${builder.name} published no DIGESTS for ${basename(file)} (looked for ${file}.DIGESTS.${builder.name}.asc and ${file}.DIGESTS.${builder.name})` };
  try {
    // Verified under the usual rules, but trusting ONLY this builder's own pinned certificates.
    const key = `${builder.name}\u0000${path}`;
    let pending = cache.get(key);
    if (!pending) {
      pending = loadSignedDigests(path, { ...base, trusted: builder.trusted, kinds: ['text', 'binary'] });
      cache.set(key, pending);
    }
    const signed = await pending;
    return { builder: builder.name, status: 'listed', source: path, signer: signed.signer, entries: digestsForFile(signed.entries, basename(file), path) };
  } catch (e) {
    const err = asCeremonyError(e);
    return { builder: builder.name, status: 'missing', code: err.code, reason: `builder ${builder.name}: ${err.message}` };
  }
}

/** Every builder's listing for one file (before the file is read, so the pass can compute what they list). */
export async function readBuilderListings(file: string, set: BuilderSet, rules: SignatureRules, cache: ListingCache = new Map()): Promise<BuilderListing[]> {
  const out: BuilderListing[] = [];
  for (const b of set.builders) out.push(await readListing(file, b, rules, cache));
  return out;
}

/** The algorithms the builders list, to add to the file's one hash pass. */
export function listingAlgorithms(listings: readonly BuilderListing[]): DigestAlgorithm[] {
  return [...new Set(listings.flatMap((l) => (l.status === 'listed' ? l.entries.map((e) => e.algorithm) : [])))];
}

/** Compare each builder's listed digests with the digests computed in the file's single read. */
export function judgeAgreement(listings: readonly BuilderListing[], computed: Readonly<Record<string, Uint8Array>>, threshold: number): AgreementResult {
  const builders: BuilderVerdict[] = listings.map((l) => {
    if (l.status === 'missing') return { builder: l.builder, state: 'missing', code: l.code, reason: l.reason };
    for (const e of l.entries) {
      const got = computed[e.algorithm];
      if (!got) throw new CeremonyError('INTERNAL', `the hash pass did not compute ${e.algorithm} for builder ${l.builder}`);
      if (!constantTimeEqual(got, Buffer.from(e.hex, 'hex'))) {
        return { builder: l.builder, state: 'disagreed', source: l.source, keyFingerprint: l.signer.keyFingerprint, difference: { algorithm: e.algorithm, listed: e.hex, computed: Buffer.from(got).toString('hex'), line: e.line } };
      }
    }
    return { builder: l.builder, state: 'agreed', source: l.source, keyFingerprint: l.signer.keyFingerprint };
  });
  const named = (s: BuilderVerdict['state']) => builders.filter((b) => b.state === s).map((b) => b.builder);
  const agreed = named('agreed');
  const disagreed = named('disagreed');
  return { threshold, met: disagreed.length === 0 && agreed.length >= threshold, agreed, disagreed, missing: named('missing'), builders };
}

/** The refusal for a file whose agreement is not met, naming the builders; null when it is met. */
export function agreementRefusal(file: string, a: AgreementResult): CeremonyError | null {
  if (a.met) return null;
  const name = basename(file);
  if (a.disagreed.length > 0) {
    const d = a.builders.find((b) => b.state === 'disagreed')!;
    const diff = d.difference!;
    return new CeremonyError(
      'BUILDERS_DISAGREE',
      `builder ${d.builder} lists ${diff.algorithm.toUpperCase()} ${diff.listed} for ${name} (${d.source} line ${diff.line}), but the file has ${diff.computed}${a.disagreed.length > 1 ? `; ${a.disagreed.length} builders disagree (${a.disagreed.join(', ')})` : ''}`,
      { details: { agreement: a } },
    );
  }
  const missing = a.builders.filter((b) => b.state === 'missing').map((b) => `${b.builder} (${b.code})`);
  return new CeremonyError(
    'BUILDERS_QUORUM_NOT_MET',
    `only ${a.agreed.length} of the required ${a.threshold} builders agree on ${name}${a.agreed.length ? ` (${a.agreed.join(', ')})` : ''}; not counted: ${missing.join(', ')}`,
    { details: { agreement: a } },
  );
}

/** One line per builder, for the CLI and the record. */
export function describeVerdict(v: BuilderVerdict): string {
  if (v.state === 'agreed') return `${v.builder}: agreed (${v.source}, signed by ${v.keyFingerprint})`;
  if (v.state === 'disagreed') return `${v.builder}: DISAGREED, lists ${v.difference!.algorithm.toUpperCase()} ${v.difference!.listed}, the file has ${v.difference!.computed}`;
  return `${v.builder}: missing [${v.code}] ${v.reason}`;
}
