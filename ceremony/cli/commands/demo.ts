/** `ceremony demo [--dir DIR]`: the whole product on throwaway SoftHSM tokens. */
import type { Command } from 'commander';
import { runDemo } from '../../ceremonies/demo.js';
import type { CliContext } from '../context.js';

export function registerDemo(program: Command, ctxFor: (json: boolean) => CliContext): void {
  program
    .command('demo')
    .description('run the ceremonies end to end on throwaway SoftHSM tokens, printing each step')
    .option('--dir <dir>', 'keep everything the demo makes in this directory (default: a new temp dir)')
    .option('--module <path>', 'run on the free slots of this PKCS#11 module instead (e.g. openCryptoki); never a token in use')
    .action(async (opts: { dir?: string; module?: string }, cmd: Command) => {
      const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
      const result = await runDemo({
        dir: opts.dir,
        ...(opts.module ? { module: opts.module } : {}),
        env: ctx.env,
        now: ctx.now,
        step: (name, detail) => ctx.out.line(`[${name}] ${detail}`),
      });
      ctx.out.line('');
      for (const l of result.next) ctx.out.line(l);
      ctx.out.result({ ok: true, ...result });
    });
}
