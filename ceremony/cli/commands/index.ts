/**
 * Every command of `ceremony`, registered in the order `--help` lists them. Each command's module is
 * loaded only when that command is run: together they import every library of the tool (graphene-pk11,
 * openpgp.js, zod, protobufjs, @sigstore/core, ...), which took ~0.3 s of the CLI's start, more than
 * most commands need (docs/BENCHMARKS.md). The whole tool's help, `help <command>`, and an unknown
 * command (whose error names the commands) load them all, so what is printed does not change.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

type Register = (program: Command, ctxFor: (json: boolean) => CliContext) => void;

/** The top-level command names each module registers, and how to load it. */
const COMMANDS: readonly { names: readonly string[]; load: () => Promise<Register> }[] = [
  { names: ['hsm'], load: async () => (await import('./hsm.js')).registerHsm },
  { names: ['key'], load: async () => (await import('./key.js')).registerKey },
  { names: ['verify'], load: async () => (await import('./verify.js')).registerVerify },
  { names: ['sign'], load: async () => (await import('./sign.js')).registerSign },
  { names: ['payload'], load: async () => (await import('./payload.js')).registerPayload },
  { names: ['config'], load: async () => (await import('./config.js')).registerConfig },
  { names: ['init'], load: async () => (await import('./quorum-ceremonies.js')).registerQuorumCeremonies },
  { names: ['renew'], load: async () => (await import('./quorum-ceremonies.js')).registerRenew },
  { names: ['build-key'], load: async () => (await import('./build-key.js')).registerBuildKey },
  { names: ['backup', 'restore'], load: async () => (await import('./backup.js')).registerBackup },
  { names: ['shares'], load: async () => (await import('./shares.js')).registerShares },
  { names: ['audit'], load: async () => (await import('./audit.js')).registerAudit },
  { names: ['demo'], load: async () => (await import('./demo.js')).registerDemo },
];

/** Every top-level command name, in `--help` order. */
export const COMMAND_NAMES: readonly string[] = COMMANDS.flatMap((c) => c.names);

/**
 * Register the command `argv` names (its first word that is not an option: the tool's own options
 * take no values), or every command when it names none of them, except for `--version`, which
 * commander answers before it looks at any command.
 */
export async function registerCommands(program: Command, ctxFor: (json: boolean) => CliContext, argv: readonly string[]): Promise<void> {
  const first = argv.find((a) => !a.startsWith('-'));
  const named = COMMANDS.filter((c) => first !== undefined && c.names.includes(first));
  const versionOnly = named.length === 0 && argv.some((a) => a === '-V' || a === '--version');
  const chosen = named.length > 0 ? named : versionOnly ? [] : COMMANDS;
  const registers = await Promise.all(chosen.map((c) => c.load()));
  for (const register of registers) register(program, ctxFor);
}
