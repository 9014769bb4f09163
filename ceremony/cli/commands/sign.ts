/** `ceremony sign`: the sign-update ceremony for release files (README, "Signing a release"). */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { parseUriArg } from '../../hsm/connect.js';
import { runSignUpdate } from '../../ceremonies/sign-update.js';
import type { CliContext } from '../context.js';
import { withCeremonyOptions, withConfirmOption, type CeremonyCliOptions } from '../ceremony-options.js';
import { ceremonyContext } from '../ceremony-context.js';
import { progressFor } from '../progress.js';
import { groupHex } from '../../read-aloud.js';
import { agreementLines, builderRuleFor, provenanceLines, provenancePolicyFor, revokerKeyPaths, trustedKeyPaths } from '../release-options.js';

interface SignOpts extends CeremonyCliOptions {
  payload?: string[];
  payloadKey?: string[];
  trustedKey?: string[];
  revokerKey?: string[];
  config?: string;
  key: string;
  outDir: string;
  armor?: boolean;
  signature?: string;
  digests?: string;
}

export function registerSign(program: Command, ctxFor: (json: boolean) => CliContext): void {
  withConfirmOption(withCeremonyOptions(
    program
      .command('sign')
      .description(
        'the sign-update ceremony: verify every release file against the build server, then sign each on the HSM',
      )
      .argument('[file...]', 'release files (each with FILE.sig/.asc and FILE.DIGESTS(.asc) beside it)')
      .option('--trusted-key <cert>', 'a pinned build server certificate (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
      .option('--config <file>', "take the pinned certificates from the ceremony config's trustedBuildKeys (and revokerKeys), and its builders rule (K builders must agree)")
      .option('--revoker-key <cert>', 'the certificate of a designated revoker a pinned certificate names, to check its revocations (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
      .requiredOption(
        '--key <uri>',
        'the OpenPGP signing key on the HSM, e.g. pkcs11:token=signing;object=signing-2026-...',
      )
      .requiredOption('--out-dir <dir>', 'where NAME.sig (or NAME.asc with --armor) is written')
      .option('--armor', 'write armored .asc signatures instead of binary .sig')
      .option(
        '--signature <file>',
        'the build server signature of the (single) FILE, instead of FILE.sig/.asc',
      )
      .option('--digests <file>', 'a DIGESTS file listing every FILE, instead of FILE.DIGESTS(.asc)')
      .option('--payload <file>', 'an unsigned update payload (CrAU) to sign in the same ceremony, written as OUT_DIR/NAME.signed (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
      .option('--payload-key <uri>', 'the RSA payload key(s) for --payload, in signature order (repeatable; the last makes the version-2 signature)', (v: string, prev: string[] = []) => [...prev, v]),
    'the HSM key that seals the ceremony record (default: the signing key)',
  )).action(async (files: string[], opts: SignOpts, cmd: Command) => {
    const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
    const key = parseUriArg(opts.key, '--key');
    const trustedKeys = trustedKeyPaths(ctx, opts.trustedKey, opts.config);
    const revokerKeys = revokerKeyPaths(ctx, opts.revokerKey, opts.config);
    // Large files get a progress bar while they are hashed, on a terminal only.
    const bar = ctx.out.json ? undefined : progressFor(Boolean(process.stderr.isTTY));
    const result = await runSignUpdate({
      ...ceremonyContext(
        ctx,
        opts,
        [
          { name: 'trusted-key', value: trustedKeys },
          ...(revokerKeys.length > 0 ? [{ name: 'revoker-key' as const, value: revokerKeys }] : []),
          ...(opts.config ? [{ name: 'config' as const, value: opts.config }] : []),
          { name: 'key', value: opts.key },
          { name: 'out-dir', value: opts.outDir },
          { name: 'file', value: files },
          ...(opts.armor ? [{ name: 'armor' as const, value: true }] : []),
          ...(opts.signature ? [{ name: 'signature' as const, value: opts.signature }] : []),
          ...(opts.digests ? [{ name: 'digests' as const, value: opts.digests }] : []),
          ...(opts.payload ? [{ name: 'payload' as const, value: opts.payload }] : []),
          ...(opts.payloadKey ? [{ name: 'payload-key' as const, value: opts.payloadKey }] : []),
        ],
        bar?.onProgress,
      ),
      files: files.map((f) => resolve(ctx.cwd, f)),
      trustedKeys,
      revokerKeys,
      key,
      outDir: resolve(ctx.cwd, opts.outDir),
      armor: Boolean(opts.armor),
      signature: opts.signature && resolve(ctx.cwd, opts.signature),
      digests: opts.digests && resolve(ctx.cwd, opts.digests),
      payloads: (opts.payload ?? []).map((f) => resolve(ctx.cwd, f)),
      payloadKeys: (opts.payloadKey ?? []).map((k) => parseUriArg(k, '--payload-key')),
      builders: builderRuleFor(ctx, opts.config),
      provenance: provenancePolicyFor(ctx, opts.config),
    });
    ctx.out.line('');
    ctx.out.line(
      `signed with ${groupHex(result.key.fingerprint)} (primary ${groupHex(result.key.primaryFingerprint)})`,
    );
    for (const s of result.signed) {
      ctx.out.line(`SIGNED  ${s.input}`);
      ctx.out.line(`  SHA-256    ${groupHex(s.sha256)}`);
      ctx.out.line(`  signature  ${s.output}`);
      const v = result.verified.find((x) => x.file === s.input);
      for (const l of v?.agreement ? agreementLines(v.agreement) : []) ctx.out.line(l);
      for (const l of v?.provenance ? provenanceLines(v.provenance) : []) ctx.out.line(l);
    }
    for (const p of result.payloads) {
      ctx.out.line(`SIGNED  ${p.input} (update payload)`);
      ctx.out.line(`  signed SHA-256  ${groupHex(p.signedHash)}`);
      ctx.out.line(`  output          ${p.output}`);
    }
    ctx.out.line(`record  ${result.record.dir}`);
    ctx.out.result({ ok: true, ...result });
  });
}
