/**
 * How a ceremony command turns the common options (ceremony-options.ts) into the core's ceremony context and the
 * option list its record commits to.
 */
import { resolve } from 'node:path';
import { parseUriArg } from '../hsm/connect.js';
import type { OptionEntry, RecordableOption } from '../audit/events.js';
import { lineReporter, type CeremonyContext } from '../ceremonies/runner.js';
import type { CliContext } from './context.js';
import type { CeremonyCliOptions } from './ceremony-options.js';
import { confirmSigningAtTerminal } from './terminal.js';

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
