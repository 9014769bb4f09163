/**
 * The options every ceremony command takes (README, "Command reference"): where the record goes, which key seals it, the
 * network override, the PKCS#11 module and the PIN file. Only their definitions: how a command turns them into the
 * core's ceremony context is in ceremony-context.ts, which loads the ceremony code; a command registers its options
 * without loading it.
 */
import type { Command } from 'commander';

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
