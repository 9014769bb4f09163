/** `ceremony hsm slots` and `ceremony hsm keys --token URI` (DESIGN §5). */
import type { Command } from 'commander';
import { openModule, resolveModulePath } from '../../hsm/module.js';
import { listTokens } from '../../hsm/token.js';
import { connectToken, parseUriArg } from '../../hsm/connect.js';
import { findKeys, keyValidity, type KeyInfo } from '../../hsm/keys.js';
import { choosePinSource } from '../../hsm/pin.js';
import type { CliContext } from '../context.js';

function day(d?: Date): string {
  return d ? d.toISOString().slice(0, 10) : '-';
}

export function describeKeyForOutput(k: KeyInfo, now: Date) {
  return {
    uri: k.uri,
    label: k.label,
    id: k.id.toString('hex'),
    type: k.type,
    bits: k.bits,
    startDate: k.startDate ? day(k.startDate) : null,
    endDate: k.endDate ? day(k.endDate) : null,
    validity: keyValidity(k, now).state,
    ...(k.type === 'private' ? { sensitive: k.sensitive ?? null, extractable: k.extractable ?? null } : {}),
  };
}

export function registerHsm(program: Command, ctxFor: (json: boolean) => CliContext): void {
  const hsm = program.command('hsm').description('inspect the HSM: tokens and keys');

  hsm
    .command('slots')
    .description('list the tokens the PKCS#11 module sees, with their flags')
    .option('--module <path>', 'PKCS#11 module (default: CEREMONY_PKCS11_MODULE or SoftHSM)')
    .action((opts: { module?: string }, cmd: Command) => {
      const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
      const mod = openModule(resolveModulePath({ flag: opts.module, env: ctx.env }));
      const tokens = listTokens(mod);
      ctx.out.result({ ok: true, module: mod.path, slots: tokens });
      ctx.out.line(`module ${mod.path}`);
      for (const t of tokens) {
        const label = t.flags.includes('token-initialized') ? `'${t.label}'` : '(free slot, not initialized)';
        ctx.out.line(`slot ${t.slotId}  ${label}  ${t.manufacturer} ${t.model} serial ${t.serial || '-'}`);
        ctx.out.line(`    flags: ${t.flags.join(', ') || '-'}`);
        if (t.flags.includes('token-initialized')) ctx.out.line(`    uri:   ${t.uri}`);
      }
    });

  hsm
    .command('keys')
    .description('list the RSA keys on a token (private keys too when a PIN is available)')
    .requiredOption('--token <uri>', 'the token, e.g. pkcs11:token=signing')
    .option('--module <path>', 'PKCS#11 module')
    .option('--pin-file <path>', 'read the user PIN from this file')
    .action(async (opts: { token: string; module?: string; pinFile?: string }, cmd: Command) => {
      const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
      const uri = parseUriArg(opts.token, '--token');
      let canLogin = true;
      try {
        choosePinSource({ uri, pinFile: opts.pinFile, env: ctx.env, stdin: ctx.stdin });
      } catch {
        canLogin = false;
      }
      const ts = await connectToken(uri, { module: opts.module, pinFile: opts.pinFile, env: ctx.env, stdin: ctx.stdin, login: canLogin, readWrite: false, events: { warn: ctx.out.warn } });
      try {
        const now = ctx.now();
        const keys = findKeys(ts, { extraPath: [], extraQuery: [], ...(uri.object ? { object: uri.object } : {}) }).map((k) => describeKeyForOutput(k, now));
        ctx.out.result({ ok: true, token: ts.info.label, loggedIn: canLogin, keys });
        if (!canLogin) ctx.out.warn('no PIN available: private keys are hidden; give --pin-file or CEREMONY_PIN to see them');
        ctx.out.line(`token '${ts.info.label}': ${keys.length} key object(s)`);
        for (const k of keys) {
          ctx.out.line(`${k.type.padEnd(7)} RSA-${k.bits}  ${k.label}  id ${k.id}  valid ${k.startDate ?? '-'} .. ${k.endDate ?? '-'} (${k.validity})`);
          ctx.out.line(`        ${k.uri}`);
        }
      } finally {
        ts.close();
      }
    });
}
