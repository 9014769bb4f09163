/**
 * `ceremony verify --trusted-key CERT.asc [--signature SIG] [--digests D] FILE...` (DESIGN §5, issue 3).
 * Thin: the checks live in ceremony/release and ceremony/openpgp/verify. Each file gets a verdict; each rejected
 * file one `error[CODE]: FILE: sentence` line on stderr. Exit 0 all verified, 1 any rejected, 2 when a rejection
 * was for unreadable or malformed input (or a certificate could not be loaded at all).
 */
import type { Command } from 'commander';
import { CeremonyError, ERROR_EXIT_CODES } from '../../errors.js';
import { loadTrustedCertificates, type KeyDescription, type TrustedCertificate } from '../../openpgp/verify/certificate.js';
import { CLOCK_TOLERANCE_MS } from '../../openpgp/verify/rules.js';
import { verifyReleaseFiles, type FileVerification } from '../../release/verify-release.js';
import type { CliContext } from '../context.js';
import { progressFor } from '../progress.js';
import { agreementLines, builderRuleFor, provenanceLines, provenancePolicyFor, revokerKeyPaths, trustedKeyPaths } from '../release-options.js';
import { loadBuilderSet } from '../../release/builders.js';

/** Hex in groups of four, as people read fingerprints and digests aloud. */
export function groupHex(hex: string): string {
  return hex.replace(/(.{4})(?=.)/g, '$1 ');
}

function day(d: Date | null): string {
  return d ? d.toISOString().slice(0, 10) : 'never';
}

function keyLine(k: KeyDescription): string {
  const alg = `${k.algorithm.replace(/EncryptSign$/, '')}${k.bits ?? ''}`;
  return `${groupHex(k.fingerprint)}  ${alg}  ${day(k.created)} → ${day(k.expires)}  [${k.capabilities.join(', ') || 'none'}]  ${k.state}`;
}

function printCertificates(ctx: CliContext, certs: readonly TrustedCertificate[]): void {
  for (const c of certs) {
    const d = c.description;
    ctx.out.line(`pinned certificate ${groupHex(d.fingerprint)}  (${c.source})`);
    for (const uid of d.userIDs) ctx.out.line(`  uid      ${uid}`);
    ctx.out.line(`  primary  ${keyLine(d.primary)}`);
    for (const s of d.subkeys) ctx.out.line(`  subkey   ${keyLine(s)}`);
    const r = d.designatedRevocation;
    for (const fpr of r.revokers) {
      const verdict = r.revokedBy === fpr ? 'HAS REVOKED this certificate' : r.unchecked.includes(fpr) ? 'certificate NOT GIVEN: revocations cannot be checked (--revoker-key)' : 'certificate given, no revocation';
      ctx.out.line(`  revoker  ${groupHex(fpr)}  ${verdict}`);
    }
  }
  ctx.out.line(`clock tolerance: a signature may be dated at most ${CLOCK_TOLERANCE_MS / 60000} minutes in the future`);
  ctx.out.line();
}

function printResult(ctx: CliContext, r: FileVerification): void {
  ctx.out.line(`${r.status}  ${r.file}`);
  if (r.reason) ctx.out.line(`  reason   [${r.code}] ${r.reason}`);
  if (r.size !== null) ctx.out.line(`  size     ${r.size} bytes`);
  if (r.signature) {
    const s = r.signature;
    ctx.out.line(`  signer   primary ${groupHex(s.primaryFingerprint)}`);
    ctx.out.line(`           key     ${groupHex(s.keyFingerprint)}${s.userIDs[0] ? `  ${s.userIDs[0]}` : ''}`);
    ctx.out.line(`  signed   ${s.created.toISOString()}  ${s.hashAlgorithm}  ${s.source}`);
  }
  if (r.digestsCheck) {
    const d = r.digestsCheck;
    ctx.out.line(`  DIGESTS  ${d.checked.map((a) => a.toUpperCase()).join(', ')} match  ${d.source} (${d.form}, signed ${d.signer.created.toISOString()} by ${d.signer.keyFingerprint})`);
  }
  for (const l of r.agreement ? agreementLines(r.agreement) : []) ctx.out.line(l);
  for (const l of r.provenance ? provenanceLines(r.provenance) : []) ctx.out.line(l);
  if (r.sha256) ctx.out.line(`  SHA-256  ${groupHex(r.sha256)}`);
  if (r.sha512) ctx.out.line(`  SHA-512  ${groupHex(r.sha512)}`);
}

export function registerVerify(program: Command, ctxFor: (json: boolean) => CliContext): void {
  program
    .command('verify')
    .summary('verify release files against the pinned build-server certificate(s)')
    .description(
      `verify release files against the pinned build-server certificate(s): each FILE's detached signature ` +
        `(FILE.sig or FILE.asc, or --signature) and the signed DIGESTS that list it (FILE.DIGESTS.asc, FILE.DIGESTS + ` +
        `.sig, or --digests). Accepted: binary-document signatures, SHA-256 or stronger, by a signing key or subkey ` +
        `(with back-signature) that was not expired when it signed and is not revoked (by itself or by a designated revoker, ` +
        `whose certificate must then be pinned or given with --revoker-key), dated at most ` +
        `${CLOCK_TOLERANCE_MS / 60000} minutes in the future. Exit 0 all verified, 1 any rejected, 2 unreadable or malformed input.`,
    )
    .argument('<file...>', 'release files to verify')
    .option('--trusted-key <cert>', 'a pinned OpenPGP certificate (repeatable); no keyring is consulted', (v: string, prev: string[] = []) => [...prev, v])
    .option('--config <file>', "take the pinned certificates from the ceremony config's trustedBuildKeys (and revokerKeys), and its builders rule (K builders must agree)")
    .option('--revoker-key <cert>', 'the certificate of a designated revoker a pinned certificate names, to check its revocations (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--signature <sig>', 'the detached signature of FILE (one FILE only)')
    .option('--digests <file>', 'a DIGESTS file for every FILE: clearsigned, or with <file>.sig / <file>.asc beside it')
    .action(async (files: string[], opts: { trustedKey?: string[]; revokerKey?: string[]; config?: string; signature?: string; digests?: string }, cmd: Command) => {
      const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
      if (opts.signature && files.length > 1) {
        throw new CeremonyError('USAGE', '--signature names the signature of one file; give exactly one FILE with it');
      }
      const now = ctx.now();
      const trusted = await loadTrustedCertificates(trustedKeyPaths(ctx, opts.trustedKey, opts.config), now, revokerKeyPaths(ctx, opts.revokerKey, opts.config));
      printCertificates(ctx, trusted);
      const rule = builderRuleFor(ctx, opts.config);
      const builders = rule ? await loadBuilderSet(rule, now) : undefined;
      const provenance = provenancePolicyFor(ctx, opts.config);
      const progress = ctx.out.json ? undefined : progressFor(Boolean(process.stderr.isTTY));
      let results: FileVerification[];
      try {
        results = await verifyReleaseFiles(files, { trusted, signature: opts.signature, digests: opts.digests, now, onProgress: progress?.onProgress, builders, provenance });
      } finally {
        progress?.stop();
      }
      const warned = new Set<string>();
      for (const r of results) {
        printResult(ctx, r);
        for (const notice of r.notices) {
          if (!warned.has(notice)) ctx.out.warn(notice);
          warned.add(notice);
        }
      }
      const failed = results.filter((r) => r.status === 'REJECTED');
      for (const r of failed) process.stderr.write(`error[${r.code}]: ${r.file}: ${r.reason!.replace(/\.?$/, '.')}\n`);
      ctx.out.line();
      ctx.out.line(failed.length === 0 ? `all ${results.length} file(s) VERIFIED` : `${failed.length} of ${results.length} file(s) REJECTED`);
      ctx.out.result({
        ok: failed.length === 0,
        clockToleranceSeconds: CLOCK_TOLERANCE_MS / 1000,
        certificates: trusted.map((c) => ({ source: c.source, ...c.description })),
        files: results,
      });
      const exit = Math.max(0, ...failed.map((r) => ERROR_EXIT_CODES[r.code!]));
      if (exit > 0) process.exitCode = exit;
    });
}
