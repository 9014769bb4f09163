/** `ceremony backup` and `ceremony restore` (issue 11): the keys the world trusts survive the loss of a token. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { loadConfig } from '../../config.js';
import { runBackup } from '../../ceremonies/backup.js';
import { runRestore } from '../../ceremonies/restore.js';
import { readInputFile } from '../../files.js';
import type { CliContext } from '../context.js';
import { withCeremonyOptions, type CeremonyCliOptions } from '../ceremony-options.js';
import { ceremonyContext } from '../ceremony-context.js';
import { promptShareAtTerminal } from '../terminal.js';
import { MAX_SHARE_FILE_BYTES } from '../../quorum/index.js';

interface BackupOpts extends CeremonyCliOptions {
  config: string;
  share?: string[];
  out?: string;
  backup?: string;
  soPinFile?: string;
}

function readShares(ctx: CliContext, files: string[] | undefined): { source: string; text: Buffer }[] {
  return (files ?? []).map((f) => ({ source: f, text: readInputFile(resolve(ctx.cwd, f), 'share file', MAX_SHARE_FILE_BYTES) }));
}

export function registerBackup(program: Command, ctxFor: (json: boolean) => CliContext): void {
  withCeremonyOptions(
    program
      .command('backup')
      .description('k custodians and a maintainer wrap every backup-able key of both tokens into one authenticated backup file')
      .requiredOption('--config <file>', 'the ceremony config (names the root and signing tokens)')
      .requiredOption('--out <file>', 'the backup file to create (never overwritten)')
      .option('--share <file...>', 'a custodian share file of the set in force (repeatable); on a terminal, shares may also be pasted'),
  ).action(async (opts: BackupOpts, cmd: Command) => {
    const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
    const config = loadConfig(resolve(ctx.cwd, opts.config));
    const result = await runBackup({
      ...ceremonyContext(ctx, opts, [
        { name: 'config', value: opts.config },
        { name: 'out', value: opts.out! },
        { name: 'share', value: opts.share ?? [] },
      ]),
      config,
      outFile: resolve(ctx.cwd, opts.out!),
      shares: readShares(ctx, opts.share),
      promptShare: ctx.stdin.isTTY ? promptShareAtTerminal(ctx.stdin, process.stderr) : undefined,
    });
    ctx.out.line('');
    for (const k of result.keys) ctx.out.line(`backed up         ${k.token}: ${k.label} [${k.role}]`);
    for (const k of result.notBackedUp) ctx.out.line(`NOT backed up     ${k.token}: ${k.label}: ${k.reason}`);
    ctx.out.line(`backup file       ${result.path} (opens only with shares of set ${result.setId})`);
    ctx.out.line(`record            ${result.record.dir}`);
    ctx.out.result({ ok: true, ...result });
  });

  withCeremonyOptions(
    program
      .command('restore')
      .description('k custodians and a maintainer put every key of a backup file onto a fresh signing token and a new root token')
      .requiredOption('--config <file>', 'the ceremony config (names the root and signing tokens)')
      .requiredOption('--backup <file>', 'the backup file made by ceremony backup')
      .option('--share <file...>', 'a custodian share file of the set the backup was made under (repeatable)')
      .option('--so-pin-file <path>', "the fresh signing token's SO PIN as the operators set it (else CEREMONY_SO_PIN or a prompt); replaced by one the quorum holds"),
  ).action(async (opts: BackupOpts, cmd: Command) => {
    const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
    const config = loadConfig(resolve(ctx.cwd, opts.config));
    const result = await runRestore({
      ...ceremonyContext(ctx, opts, [
        { name: 'config', value: opts.config },
        { name: 'backup', value: opts.backup! },
        { name: 'share', value: opts.share ?? [] },
      ]),
      config,
      backupFile: resolve(ctx.cwd, opts.backup!),
      shares: readShares(ctx, opts.share),
      promptShare: ctx.stdin.isTTY ? promptShareAtTerminal(ctx.stdin, process.stderr) : undefined,
      ...(opts.soPinFile ? { soPinFile: resolve(ctx.cwd, opts.soPinFile) } : {}),
    });
    ctx.out.line('');
    for (const k of result.restored) ctx.out.line(`restored          ${k.token}: ${k.label} [${k.role}]`);
    ctx.out.line(`record            ${result.record.dir}`);
    ctx.out.result({ ok: true, ...result });
  });
}
