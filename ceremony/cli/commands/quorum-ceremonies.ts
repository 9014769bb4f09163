/** `ceremony init` and `ceremony renew` (DESIGN §3, §5): the custodians' ceremonies. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { loadConfig } from '../../config.js';
import { runInit } from '../../ceremonies/init.js';
import { lineReporter } from '../../ceremonies/runner.js';
import type { CliContext } from '../context.js';

interface InitOpts {
  config: string;
  out: string;
  recordDir: string;
  allowNetwork?: boolean;
  module?: string;
  pinFile?: string;
}

export function registerQuorumCeremonies(program: Command, ctxFor: (json: boolean) => CliContext): void {
  program
    .command('init')
    .description('the init ceremony: root token, root key, certificate, first signing subkey, k-of-n shares')
    .requiredOption('--config <file>', 'the ceremony config (JSON, DESIGN §5)')
    .requiredOption('--out <dir>', 'where certificate.asc, root.fingerprint and shares/ are written (must not hold them yet)')
    .option('--record-dir <dir>', 'where the ceremony record is written', './ceremony-records')
    .option('--allow-network', 'run even though a network interface is up (recorded in the audit log)')
    .option('--module <path>', 'PKCS#11 module (the config hsm.module wins)')
    .option('--pin-file <path>', "the maintainers' PIN of the signing token")
    .action(async (opts: InitOpts, cmd: Command) => {
      const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
      const config = loadConfig(resolve(ctx.cwd, opts.config));
      const attended = Boolean(ctx.stdin.isTTY);
      const result = await runInit({
        config,
        outDir: resolve(ctx.cwd, opts.out),
        recordDir: resolve(ctx.cwd, opts.recordDir),
        allowNetwork: Boolean(opts.allowNetwork),
        attended,
        module: opts.module,
        pinFile: opts.pinFile,
        env: ctx.env,
        stdin: ctx.stdin,
        reporter: lineReporter((l) => ctx.out.line(l), (m) => ctx.out.warn(m)),
        now: ctx.now,
        recordedOptions: [
          { name: 'config', value: opts.config },
          { name: 'out', value: opts.out },
          { name: 'record-dir', value: opts.recordDir },
          ...(opts.allowNetwork ? [{ name: 'allow-network', value: true }] : []),
          ...(opts.pinFile ? [{ name: 'pin-file', value: opts.pinFile }] : []),
        ],
      });
      ctx.out.line('');
      ctx.out.line(`root fingerprint  ${groups(result.rootFingerprint)}`);
      ctx.out.line(`signing subkey    ${groups(result.subkeyFingerprint)}`);
      ctx.out.line(`certificate       ${result.certificatePath}`);
      for (const s of result.shares) ctx.out.line(`share ${s.index} for ${s.custodian.padEnd(12)} ${s.file}${s.encrypted ? ' (encrypted)' : ''}`);
      ctx.out.line(`record            ${result.record.dir}`);
      ctx.out.result({ ok: true, ...result });
    });
}

/** Fingerprints in groups of four for reading aloud. */
export function groups(hex: string): string {
  return hex.match(/.{1,4}/g)!.join(' ');
}
