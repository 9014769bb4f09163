/** `ceremony config example`: an annotated config to start from (README, "The ceremony config"). */
import type { Command } from 'commander';
import { EXAMPLE_CONFIG } from '../../config.js';
import type { CliContext } from '../context.js';

export function registerConfig(program: Command, ctxFor: (json: boolean) => CliContext): void {
  const config = program.command('config').description('the ceremony config used by init, renew and sign --config');
  config
    .command('example')
    .description('print an annotated config (JSON with // comments) to copy and edit: ceremony config example > config.json')
    .action((_opts: unknown, cmd: Command) => {
      const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
      if (ctx.out.json) ctx.out.result({ ok: true, example: EXAMPLE_CONFIG });
      else process.stdout.write(EXAMPLE_CONFIG);
    });
}
