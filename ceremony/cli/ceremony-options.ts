/**
 * The options every ceremony command takes (README, "Command reference"): where the record goes, which key seals it, the
 * network override, the PKCS#11 module and the PIN file; and how a command turns them into the core's
 * ceremony context and the option list its record commits to.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { parseUriArg } from '../hsm/connect.js';
import type { OptionEntry, RecordableOption } from '../audit/events.js';
import { lineReporter, type CeremonyContext } from '../ceremonies/runner.js';
import type { CliContext } from './context.js';
import { loadConfig } from '../config.js';
import { CeremonyError } from '../errors.js';
import { confirmSigningAtTerminal } from './terminal.js';

export interface CeremonyCliOptions {
  recordDir: string;
  sealKey?: string;
  allowNetwork?: boolean;
  module?: string;
  pinFile?: string;
  /** `--yes` (signing commands): the plan is confirmed in advance; recorded. */
  yes?: boolean;
}

export function withCeremonyOptions(
  cmd: Command,
  sealKeyHelp = "the HSM key that seals the ceremony record (default: the ceremony's own OpenPGP key)",
): Command {
  return cmd
    .option('--record-dir <dir>', 'where the ceremony record is written', './ceremony-records')
    .option('--seal-key <uri>', sealKeyHelp)
    .option('--allow-network', 'run even though a network interface is up (recorded in the audit log)')
    .option('--module <path>', 'PKCS#11 module')
    .option('--pin-file <path>', 'read the signing token PIN from this file');
}

/** `--yes` for the commands that sign: skip the "Type yes" question (the record says so). */
export function withConfirmOption(cmd: Command): Command {
  return cmd.option('--yes', 'do not ask "Type yes to sign" at the terminal (unattended runs); recorded in the ceremony record');
}

/** The core's ceremony context from the common options: cwd-relative paths resolved, steps printed. */
export function ceremonyContext(
  ctx: CliContext,
  opts: CeremonyCliOptions,
  extra: OptionEntry[],
  progress?: CeremonyContext['reporter']['progress'],
): CeremonyContext {
  return {
    recordDir: resolve(ctx.cwd, opts.recordDir),
    sealKey: opts.sealKey ? parseUriArg(opts.sealKey, '--seal-key') : undefined,
    allowNetwork: Boolean(opts.allowNetwork),
    attended: Boolean(ctx.stdin.isTTY),
    module: opts.module,
    pinFile: opts.pinFile,
    env: ctx.env,
    stdin: ctx.stdin,
    now: ctx.now,
    reporter: {
      ...lineReporter(
        (l) => ctx.out.line(l),
        (m) => ctx.out.warn(m),
      ),
      ...(progress ? { progress } : {}),
    },
    recordedOptions: [...extra, ...recordedCommonOptions(opts)],
    // Before any HSM login, a person at a terminal confirms the plan (issue 13), unless --yes.
    ...(opts.yes ? { assumeYes: true } : ctx.stdin.isTTY ? { confirmSigning: confirmSigningAtTerminal(ctx.stdin, process.stderr) } : {}),
  };
}

/** The common options as the record's first line lists them (names and paths; never a secret). */
function recordedCommonOptions(opts: CeremonyCliOptions): OptionEntry[] {
  const out: OptionEntry[] = [{ name: 'record-dir', value: opts.recordDir }];
  const add = (name: RecordableOption, value: string | boolean | undefined) => {
    if (value !== undefined && value !== false) out.push({ name, value });
  };
  add('seal-key', opts.sealKey);
  add('allow-network', opts.allowNetwork);
  add('module', opts.module);
  add('pin-file', opts.pinFile);
  add('yes', opts.yes);
  return out;
}

/**
 * The pinned build-server certificates: `--trusted-key` (repeatable), else the config's
 * `trustedBuildKeys`. Nothing is trusted implicitly: with neither, the command is refused.
 */
export function trustedKeyPaths(ctx: CliContext, trustedKey: string[] | undefined, configFile: string | undefined): string[] {
  if (trustedKey && trustedKey.length > 0) return trustedKey.map((f) => resolve(ctx.cwd, f));
  if (configFile) {
    const keys = loadConfig(resolve(ctx.cwd, configFile)).trustedBuildKeys;
    if (keys.length > 0) return keys;
    throw new CeremonyError('USAGE', `the config ${configFile} lists no trustedBuildKeys; give --trusted-key CERT.asc`);
  }
  throw new CeremonyError('USAGE', 'give the build server certificate with --trusted-key CERT.asc (or --config with trustedBuildKeys); no keyring is consulted (see the command\'s --help)');
}

/**
 * Certificates of designated revokers (RFC 4880 §5.2.3.15) the pinned certificates name: `--revoker-key`
 * (repeatable), else the config's `revokerKeys` with --config. They are used only to check revocations.
 */
export function revokerKeyPaths(ctx: CliContext, revokerKey: string[] | undefined, configFile: string | undefined): string[] {
  if (revokerKey && revokerKey.length > 0) return revokerKey.map((f) => resolve(ctx.cwd, f));
  return configFile ? loadConfig(resolve(ctx.cwd, configFile)).revokerKeys : [];
}
