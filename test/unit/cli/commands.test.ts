/**
 * The CLI loads only the command it runs (ceremony/cli/commands/index.ts). A command loaded alone must
 * be the same command as in the whole tool: same name, options and help, and the table of names must
 * cover every command the tool has, or a command would be run without its own module.
 */
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../../../ceremony/cli/main.js';
import { COMMAND_NAMES } from '../../../ceremony/cli/commands/index.js';
import { makeOutput } from '../../../ceremony/cli/output.js';
import type { CliContext } from '../../../ceremony/cli/context.js';

const ctxFor = (json: boolean): CliContext => ({ out: makeOutput(json), env: {}, stdin: process.stdin, now: () => new Date(), cwd: '/' });

/** Every command's help, by its path (`payload sign`), depth first. */
function helpTexts(cmd: Command, path: string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  for (const sub of cmd.commands) {
    const p = [...path, sub.name()];
    out.set(p.join(' '), sub.helpInformation());
    for (const [k, v] of helpTexts(sub, p)) out.set(k, v);
  }
  return out;
}

describe('commands loaded on demand', () => {
  it('the table names every command of the whole tool, in its help order', async () => {
    const all = await buildProgram(ctxFor, []);
    expect(all.commands.map((c) => c.name())).toEqual(COMMAND_NAMES);
  });

  it('a command loaded alone has the help, options and subcommands it has in the whole tool', async () => {
    const all = helpTexts(await buildProgram(ctxFor, ['--help']));
    for (const name of COMMAND_NAMES) {
      const alone = await buildProgram(ctxFor, ['--json', name, '--help']);
      expect(alone.commands.map((c) => c.name()), name).toContain(name);
      const texts = helpTexts(alone);
      for (const [path, text] of texts) expect(text, path).toBe(all.get(path));
      for (const path of all.keys()) if (path === name || path.startsWith(`${name} `)) expect(texts.has(path), path).toBe(true);
    }
  });

  it('an unknown command or `help` loads every command, so the error and the help can name them', async () => {
    for (const argv of [['no-such-command'], ['help', 'payload'], []]) {
      expect((await buildProgram(ctxFor, argv)).commands.map((c) => c.name()), argv.join(' ')).toEqual(COMMAND_NAMES);
    }
  });

  it('--version alone loads no command', async () => {
    expect((await buildProgram(ctxFor, ['--version'])).commands).toHaveLength(0);
  });
});
