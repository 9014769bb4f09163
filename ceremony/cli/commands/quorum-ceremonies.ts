/** `ceremony init` and `ceremony renew` (DESIGN §3, §5): the custodians' ceremonies. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { loadConfig } from '../../config.js';
import { runInit } from '../../ceremonies/init.js';
import { runRenew } from '../../ceremonies/renew.js';
import { readInputFile } from '../../files.js';
import type { CliContext } from '../context.js';
import { withCeremonyOptions, type CeremonyCliOptions } from '../ceremony-options.js';
import { ceremonyContext } from '../ceremony-context.js';
import { confirmSessionAtTerminal, promptShareAtTerminal } from '../terminal.js';
import { formatQuorumId, groupHex } from '../../read-aloud.js';
import { MAX_SHARE_FILE_BYTES } from '../../quorum/index.js';

interface InitOpts extends CeremonyCliOptions {
  config: string;
  out: string;
  soPinFile?: string;
  acceptWeakPins?: boolean;
  rootSoPinFile?: string;
}

export function registerQuorumCeremonies(program: Command, ctxFor: (json: boolean) => CliContext): void {
  withCeremonyOptions(
    program
      .command('init')
      .description(
        'the init ceremony: root token, root key, certificate, first signing subkey, k-of-n shares',
      )
      .requiredOption('--config <file>', 'the ceremony config (JSON; `ceremony config example` prints an annotated one, the README describes every field)')
      .requiredOption(
        '--out <dir>',
        'where certificate.asc, root.fingerprint and shares/ are written (must not hold them yet)',
      )
      .option('--so-pin-file <path>', "the signing token's current SO PIN (else CEREMONY_SO_PIN or a prompt); init replaces it with one the quorum holds")
      .option('--root-so-pin-file <path>', "only for modules whose free slots already have an SO PIN (openCryptoki: 87654321): that PIN, replaced by the derived one (else CEREMONY_ROOT_SO_PIN)")
      .option('--accept-weak-pins', 'accept a token whose PIN length limit leaves a derived PIN under 64 bits (recorded)'),
    'seal the record with this OpenPGP key on the signing token instead of the root key',
  ).action(async (opts: InitOpts, cmd: Command) => {
    const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
    const config = loadConfig(resolve(ctx.cwd, opts.config));
    const result = await runInit({
      ...ceremonyContext(ctx, opts, [
        { name: 'config', value: opts.config },
        { name: 'out', value: opts.out },
        ...(opts.acceptWeakPins ? [{ name: 'accept-weak-pins' as const, value: true }] : []),
      ]),
      config,
      outDir: resolve(ctx.cwd, opts.out),
      ...(opts.soPinFile ? { soPinFile: resolve(ctx.cwd, opts.soPinFile) } : {}),
      acceptWeakPins: Boolean(opts.acceptWeakPins),
      ...(opts.rootSoPinFile ? { rootSoPinFile: resolve(ctx.cwd, opts.rootSoPinFile) } : {}),
    });
    ctx.out.line('');
    ctx.out.line(`root fingerprint  ${groups(result.rootFingerprint)}`);
    ctx.out.line(`signing subkey    ${groups(result.subkeyFingerprint)}`);
    ctx.out.line(`sign releases with --key '${result.signingKeyUri}'`);
    ctx.out.line(`certificate       ${result.certificatePath}`);
    for (const s of result.shares)
      ctx.out.line(
        `share ${s.index} for ${s.custodian.padEnd(12)} ${s.file}${s.encrypted ? ' (encrypted)' : ''}, hand-out note ${s.handout}`,
      );
    ctx.out.line(HANDOUT_ADVICE);
    ctx.out.line(`record            ${result.record.dir}`);
    ctx.out.result({ ok: true, ...result });
  });
}

const HANDOUT_ADVICE =
  'Each custodian takes their own share with its hand-out note. Once a share is written down or encrypted, wipe the plain file (shred -u).';

/** Fingerprints in groups of four for reading aloud (one format everywhere: read-aloud.ts). */
export const groups = groupHex;

interface RenewOpts extends InitOpts {
  share?: string[];
  sessionId?: string;
  newPayloadKey?: string;
  buildSubkey?: string;
}

export function registerRenew(program: Command, ctxFor: (json: boolean) => CliContext): void {
  withCeremonyOptions(
    program
      .command('renew')
      .description(
        'the renewal ceremony: k shares unlock the root key, a new signing subkey is bound, PINs rotate and are re-split',
      )
      .requiredOption(
        '--config <file>',
        'the ceremony config: its custodians and threshold become the new quorum',
      )
      .requiredOption(
        '--out <dir>',
        'where certificate.asc, transition.json(.asc) and the new shares/ are written',
      )
      .option(
        '--share <file...>',
        'a custodian share file (repeatable); on a terminal, shares may also be pasted',
      )
      .option(
        '--session-id <id>',
        'unattended runs: the quorum session ID the custodians confirmed, at least its first four groups (refused if different)',
      )
      .option(
        '--new-payload-key <label>',
        'also generate a new RSA-2048 payload key, announced in transition.json',
      )
      .option('--so-pin-file <path>', "only for a set made before SO PINs were quorum-held: the signing token's SO PIN, handed to the quorum")
      .option('--accept-weak-pins', 'accept a token whose PIN length limit leaves a derived PIN under 64 bits (recorded)')
      .option(
        '--build-subkey <request>',
        "also certify the build server's next signing subkey from its request (ceremony build-key request)",
      ),
    'seal the record with this OpenPGP key on the signing token instead of the root key',
  ).action(async (opts: RenewOpts, cmd: Command) => {
    const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
    const config = loadConfig(resolve(ctx.cwd, opts.config));
    const attended = Boolean(ctx.stdin.isTTY);
    const shares = (opts.share ?? []).map((f) => ({
      source: f,
      text: readInputFile(resolve(ctx.cwd, f), 'share file', MAX_SHARE_FILE_BYTES),
    }));
    const result = await runRenew({
      ...ceremonyContext(ctx, opts, [
        { name: 'config', value: opts.config },
        { name: 'out', value: opts.out },
        { name: 'share', value: opts.share ?? [] },
        ...(opts.newPayloadKey ? [{ name: 'new-payload-key' as const, value: opts.newPayloadKey }] : []),
        ...(opts.acceptWeakPins ? [{ name: 'accept-weak-pins' as const, value: true }] : []),
        ...(opts.buildSubkey ? [{ name: 'build-subkey' as const, value: opts.buildSubkey }] : []),
      ]),
      config,
      outDir: resolve(ctx.cwd, opts.out),
      shares,
      promptShare: attended ? promptShareAtTerminal(ctx.stdin, process.stderr) : undefined,
      confirmSession: attended ? confirmSessionAtTerminal(ctx.stdin, process.stderr) : undefined,
      expectSessionId: opts.sessionId,
      newPayloadKey: opts.newPayloadKey,
      ...(opts.soPinFile ? { soPinFile: resolve(ctx.cwd, opts.soPinFile) } : {}),
      acceptWeakPins: Boolean(opts.acceptWeakPins),
      buildSubkey: opts.buildSubkey
        ? { source: opts.buildSubkey, bytes: readInputFile(resolve(ctx.cwd, opts.buildSubkey), 'build-server subkey request', 64 * 1024) }
        : undefined,
    });
    ctx.out.line('');
    ctx.out.line(`quorum session    ${formatQuorumId(result.sessionId)}`);
    ctx.out.line(`new quorum set    ${formatQuorumId(result.setId)}`);
    ctx.out.line(`root fingerprint  ${groups(result.rootFingerprint)}`);
    ctx.out.line(`new subkey        ${groups(result.subkeyFingerprint)}`);
    ctx.out.line(`sign releases with --key '${result.signingKeyUri}'`);
    if (result.payloadKeyUri) ctx.out.line(`sign payloads with --key '${result.payloadKeyUri}' (once an update has shipped its public key)`);
    if (result.buildSubkeyFingerprint) ctx.out.line(`build subkey      ${groups(result.buildSubkeyFingerprint)}`);
    for (const p of result.previousSubkeys) ctx.out.line(`earlier subkey    ${groups(p)}`);
    ctx.out.line(`certificate       ${result.certificatePath}`);
    ctx.out.line(`transition        ${result.transitionPath} (+ .asc, signed by the root key)`);
    for (const s of result.shares)
      ctx.out.line(
        `new share ${s.index} for ${s.custodian.padEnd(12)} ${s.file}${s.encrypted ? ' (encrypted)' : ''}, hand-out note ${s.handout}`,
      );
    ctx.out.line(HANDOUT_ADVICE);
    ctx.out.line(`record            ${result.record.dir}`);
    ctx.out.result({ ok: true, ...result });
  });
}
