#!/usr/bin/env node
/**
 * `ceremony`: the headless face of the ceremony core (DESIGN §5). Every command is a thin shell over
 * `ceremony/`; this file only parses, dispatches, and turns failures into `error[CODE]: sentence` with
 * the documented exit code.
 */
import { Command, CommanderError } from 'commander';
import { CeremonyError, asCeremonyError } from '../errors.js';
import { makeOutput, reportError } from './output.js';
import type { CliContext } from './context.js';
import { registerCommands } from './commands/index.js';
import { TOOL_VERSION } from '../version.js';


/** The program with the command `argv` names registered (every command for help or an unknown name). */
export async function buildProgram(ctxFor: (json: boolean) => CliContext, argv: readonly string[] = []): Promise<Command> {
  const program = new Command('ceremony')
    .description('Air-gapped signing ceremonies on an HSM: verify and sign releases, renew keys with a quorum, audit records.')
    .version(TOOL_VERSION, '-V, --version')
    .option('--json', 'print machine-readable results on stdout')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: () => {} });
  await registerCommands(program, ctxFor, argv);
  return program;
}

export async function runCli(argv: string[], base: Omit<CliContext, 'out'> = defaultContext()): Promise<number> {
  const json = argv.includes('--json');
  const ctxFor = (j: boolean): CliContext => ({ ...base, out: makeOutput(j) });
  const program = await buildProgram(ctxFor, argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      const sentence = e.message.replace(/^error:\s*/i, '').replace(/\n[\s\S]*$/, '');
      // Point to the help of the command that was typed (`ceremony sign --help`), not the whole tool's.
      reportError(new CeremonyError('USAGE', `${sentence} (see ${['ceremony', ...commandPath(program, argv)].join(' ')} --help, or the README)`), json);
      return 2;
    }
    const err = asCeremonyError(e);
    reportError(err, json);
    if (err.code === 'INTERNAL' && base.env.CEREMONY_DEBUG) console.error(e);
    return err.exitCode;
  }
}

/** The subcommands named in `argv` (e.g. ['audit', 'verify']), as far as they exist. */
export function commandPath(program: Command, argv: string[]): string[] {
  const path: string[] = [];
  let cmd = program;
  for (const arg of argv) {
    if (arg.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) break;
    path.push(sub.name());
    cmd = sub;
  }
  return path;
}

export function defaultContext(): Omit<CliContext, 'out'> {
  return { env: process.env, stdin: process.stdin, now: () => new Date(), cwd: process.cwd() };
}

const invokedDirectly = process.argv[1] && new URL(import.meta.url).pathname === (await import('node:fs')).realpathSync(process.argv[1]);
if (invokedDirectly) {
  // A reader that goes away (`ceremony ... | head`) is not an error of ours: stop quietly.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  const code = await runCli(process.argv.slice(2));
  process.exitCode = code;
}
