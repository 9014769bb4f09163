/**
 * Verify downloaded release files against the build server's signatures (issue 3, DESIGN §3 "Sign update"):
 * for each file, its detached signature and the signed DIGESTS that list it, checked from ONE read of the file.
 * Nothing here throws for a bad file: each file gets a VERIFIED or REJECTED result with the failed rule's code,
 * so a ceremony can show all verdicts at once. Unusable options (e.g. --signature with several files) throw.
 */
import { basename } from 'node:path';
import { constantTimeEqual } from '../crypto.js';
import { CeremonyError, asCeremonyError, type ErrorCode } from '../errors.js';
import { fileExists, readInputFile } from '../files.js';
import { hashFileOnce, type HashPassOptions } from '../hash-pass.js';
import type { TrailerRequest } from '../hash-lane.js';
import { digestsForFile, type DigestAlgorithm } from '../digests/parse.js';
import { isClearsigned, loadSignedDigests, readClearsignedDigests, type SignedDigests } from '../digests/signed.js';
import type { TrustedCertificate } from '../openpgp/verify/certificate.js';
import { completeSignature, prepareSignature, type SignatureRules, type SignerIdentity } from '../openpgp/verify/rules.js';
import { MAX_SIGNATURE_BYTES, parseDetachedSignature } from '../openpgp/verify/signature.js';
import { agreementRefusal, judgeAgreement, listingAlgorithms, readBuilderListings, type AgreementResult, type ListingCache } from './agreement.js';
import type { BuilderSet } from './builders.js';
import { checkProvenance, type ProvenanceVerification } from '../provenance/check.js';
import type { ProvenancePolicy } from '../provenance/policy.js';

export interface ReleaseVerifyOptions {
  trusted: readonly TrustedCertificate[];
  /** A detached signature to use instead of FILE.sig / FILE.asc (only with exactly one file). */
  signature?: string;
  /** One DIGESTS file (clearsigned, or with D.sig/D.asc beside it) for every file, instead of FILE.DIGESTS*. */
  digests?: string;
  /** Refuse a file no DIGESTS lists (default true: Flatcar publishes DIGESTS for every release file). */
  requireDigests?: boolean;
  now: Date;
  /** How far in the future a signature may be dated (default CLOCK_TOLERANCE_MS, 5 minutes). */
  toleranceMs?: number;
  /** More digests of each file's content to compute in the same read (e.g. 'sha384' for a signer). */
  extraDigests?: readonly string[];
  /**
   * Digests of content ‖ trailer to compute in the same read: the signing ceremony's own OpenPGP
   * signature (its fixed hashed fields), so a file is read once for verification and signing.
   */
  extraTrailers?: readonly TrailerRequest[];
  onProgress?: (file: string, bytesRead: number, totalBytes: number) => void;
  parallel?: HashPassOptions['parallel'];
  /** Independent builders that must agree on each file (issue 15, agreement.ts); absent: no such rule. */
  builders?: BuilderSet;
  /** The provenance policy each file must meet (issue 15, provenance/check.ts); absent: no such rule. */
  provenance?: ProvenancePolicy;
}

export interface DigestsVerification {
  source: string;
  signatureSource: string;
  form: SignedDigests['form'];
  signer: SignerIdentity;
  /** The algorithms listed for this file, all of which matched. */
  checked: DigestAlgorithm[];
  /** Non-blank lines outside the clearsigned block that were ignored. */
  ignoredLines: number;
}

export interface FileVerification {
  file: string;
  status: 'VERIFIED' | 'REJECTED';
  code: ErrorCode | null;
  reason: string | null;
  size: number | null;
  sha256: string | null;
  sha512: string | null;
  /** Every digest computed in the pass (hex), including `extraDigests`. */
  digests: Record<string, string>;
  signature: (SignerIdentity & { source: string }) | null;
  digestsCheck: DigestsVerification | null;
  /** Things the person should know whatever the verdict (e.g. unsigned text ignored around a DIGESTS). */
  notices: string[];
  /** The digests asked for with `extraTrailers`, in order (VERIFIED files only). */
  trailed?: Buffer[];
  /** Which builders agreed, disagreed or were missing (only with `builders`). */
  agreement?: AgreementResult;
  /** The provenance that was checked (only with `provenance`, VERIFIED files). */
  provenance?: ProvenanceVerification;
}

/** `FILE.sig` (binary) first, then `FILE.asc` (armored), as Flatcar publishes both. */
export function findSignatureFor(file: string, exists: (p: string) => boolean = fileExists): string | null {
  return [`${file}.sig`, `${file}.asc`].find(exists) ?? null;
}

/** Where the DIGESTS of FILE are: the clearsigned FILE.DIGESTS.asc, else FILE.DIGESTS (with its .sig/.asc). */
export function findDigestsFor(file: string, exists: (p: string) => boolean = fileExists): string | null {
  const asc = `${file}.DIGESTS.asc`;
  if (exists(asc)) {
    try {
      if (isClearsigned(readInputFile(asc, 'DIGESTS file', 1024 * 1024))) return asc;
    } catch {
      // unreadable here means: fall through to FILE.DIGESTS, whose loading reports properly
    }
  }
  const plain = `${file}.DIGESTS`;
  return exists(plain) ? plain : null;
}

async function loadDigests(path: string, rules: SignatureRules): Promise<SignedDigests> {
  if (path.endsWith('.asc')) {
    const bytes = readInputFile(path, 'DIGESTS file', 1024 * 1024);
    if (isClearsigned(bytes)) return readClearsignedDigests(bytes, path, rules);
  }
  return loadSignedDigests(path, rules);
}

function rejected(file: string, e: unknown, partial: Partial<FileVerification> = {}): FileVerification {
  const err = asCeremonyError(e);
  return {
    file,
    status: 'REJECTED',
    code: err.code,
    reason: err.message,
    size: null,
    sha256: null,
    sha512: null,
    digests: {},
    signature: null,
    digestsCheck: null,
    notices: [],
    ...partial,
  };
}

export async function verifyReleaseFiles(files: readonly string[], options: ReleaseVerifyOptions): Promise<FileVerification[]> {
  if (files.length === 0) throw new CeremonyError('USAGE', 'no file to verify was given');
  if (options.signature && files.length > 1) {
    throw new CeremonyError('USAGE', '--signature names the signature of one file; give exactly one FILE with it');
  }
  const rules: SignatureRules = { trusted: options.trusted, now: options.now, kinds: ['binary'], toleranceMs: options.toleranceMs };
  const digestsCache = new Map<string, Promise<SignedDigests>>();
  const builderCache: ListingCache = new Map();
  const out: FileVerification[] = [];
  for (const file of files) out.push(await verifyOne(file, options, rules, digestsCache, builderCache));
  return out;
}

async function verifyOne(file: string, options: ReleaseVerifyOptions, rules: SignatureRules, cache: Map<string, Promise<SignedDigests>>, builderCache: ListingCache): Promise<FileVerification> {
  const notices: string[] = [];
  try {
    readableFile(file);
    // 1. The signature, parsed and pre-checked (type, hash strength, pinned issuer) before the file is read.
    const sigPath = options.signature ?? findSignatureFor(file);
    if (!sigPath) throw new CeremonyError('SIGNATURE_MISSING', `${file} has no signature (looked for ${file}.sig and ${file}.asc)`);
    const signature = await parseDetachedSignature(readInputFile(sigPath, 'signature', MAX_SIGNATURE_BYTES), sigPath);
    const prepared = prepareSignature(signature, rules);

    // 2. The signed DIGESTS and the entries for this file (SHA-512 among them).
    const digestsPath = options.digests ?? findDigestsFor(file);
    let listed: { signed: SignedDigests; entries: ReturnType<typeof digestsForFile> } | null = null;
    if (digestsPath) {
      let pending = cache.get(digestsPath);
      if (!pending) {
        pending = loadDigests(digestsPath, { ...rules, kinds: ['text', 'binary'] });
        cache.set(digestsPath, pending);
      }
      const signed = await pending;
      if (signed.ignoredLines > 0) {
        notices.push(`${digestsPath}: ${signed.ignoredLines} line(s) outside the clearsigned block were ignored; only signed text counts`);
      }
      for (const u of signed.unknownSections) {
        notices.push(`${digestsPath} line ${u.line}: the "${u.name}" section names a digest algorithm this verifier does not know; it was not checked`);
      }
      listed = { signed, entries: digestsForFile(signed.entries, basename(file), digestsPath) };
    } else if (options.requireDigests ?? true) {
      throw new CeremonyError('DIGEST_MISSING', `${file} has no DIGESTS (looked for ${file}.DIGESTS.asc and ${file}.DIGESTS); give one with --digests`);
    }

    // 2b. The independent builders' signed DIGESTS (issue 15), each checked against its own builder's keys.
    const builderListings = options.builders ? await readBuilderListings(file, options.builders, rules, builderCache) : null;

    // 3. One read: SHA-256 and SHA-512 (read aloud), the listed algorithms, the signature's hash with its trailer.
    const algorithms = [...new Set(['sha256', 'sha512', ...(listed?.entries.map((e) => e.algorithm) ?? []), ...listingAlgorithms(builderListings ?? []), ...(options.extraDigests ?? [])])];
    const pass = await hashFileOnce(file, {
      what: 'release file',
      algorithms,
      trailers: [{ algorithm: prepared.hash, trailer: prepared.trailer }, ...(options.extraTrailers ?? [])],
      onProgress: options.onProgress && ((n, total) => options.onProgress!(file, n, total)),
      parallel: options.parallel,
    });
    const hex: Record<string, string> = {};
    for (const [a, d] of Object.entries(pass.digests)) hex[a] = d.toString('hex');
    const facts: Partial<FileVerification> = { notices, size: pass.size, sha256: hex.sha256 ?? null, sha512: hex.sha512 ?? null, digests: hex };

    // 4. The signature's remaining rules, then every listed digest.
    let signer: SignerIdentity;
    try {
      signer = await completeSignature(prepared, pass.trailed[0]!, rules);
    } catch (e) {
      return rejected(file, e, facts);
    }
    const signatureFacts = { ...signer, source: sigPath };
    let digestsCheck: DigestsVerification | null = null;
    if (listed) {
      for (const entry of listed.entries) {
        const got = pass.digests[entry.algorithm]!;
        if (!constantTimeEqual(got, Buffer.from(entry.hex, 'hex'))) {
          return rejected(
            file,
            new CeremonyError('DIGEST_MISMATCH', `the ${entry.algorithm.toUpperCase()} of ${file} is ${got.toString('hex')}, but ${digestsPath} line ${entry.line} lists ${entry.hex}`),
            { ...facts, signature: signatureFacts },
          );
        }
      }
      const s = listed.signed;
      digestsCheck = {
        source: s.source,
        signatureSource: s.signatureSource,
        form: s.form,
        signer: s.signer,
        checked: [...new Set(listed.entries.map((e) => e.algorithm))],
        ignoredLines: s.ignoredLines,
      };
    }
    // 5. Builder agreement, from the same pass: refused when a builder disagrees or fewer than K agree.
    let agreement: AgreementResult | undefined;
    if (builderListings) {
      agreement = judgeAgreement(builderListings, pass.digests, options.builders!.threshold);
      const refusal = agreementRefusal(file, agreement);
      if (refusal) return rejected(file, refusal, { ...facts, signature: signatureFacts, digestsCheck, agreement });
    }
    // 6. Provenance against the policy, its subject compared with the digests of the same read.
    let provenance: ProvenanceVerification | undefined;
    if (options.provenance) {
      try {
        provenance = checkProvenance(file, pass.digests, options.provenance, listed ? { entries: listed.signed.entries, source: listed.signed.source } : undefined);
      } catch (e) {
        return rejected(file, e, { ...facts, signature: signatureFacts, digestsCheck, ...(agreement ? { agreement } : {}) });
      }
    }
    return { file, status: 'VERIFIED', code: null, reason: null, size: pass.size, sha256: hex.sha256!, sha512: hex.sha512!, digests: hex, signature: signatureFacts, digestsCheck, notices, trailed: pass.trailed.slice(1), ...(agreement ? { agreement } : {}), ...(provenance ? { provenance } : {}) };
  } catch (e) {
    return rejected(file, e, { notices });
  }
}

function readableFile(file: string): void {
  if (!fileExists(file)) throw new CeremonyError('INPUT_UNREADABLE', `${file} does not exist`);
}
