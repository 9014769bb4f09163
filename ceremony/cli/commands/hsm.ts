/** `ceremony hsm slots` and `ceremony hsm keys --token URI` (DESIGN §5). */
import type { Command } from 'commander';
import { openModule, resolveModulePath } from '../../hsm/module.js';
import { listTokens } from '../../hsm/token.js';
import { connectToken, parseUriArg } from '../../hsm/connect.js';
import { findKeys, keyValidity, type KeyInfo } from '../../hsm/keys.js';
import { choosePinSource } from '../../hsm/pin.js';
import { CeremonyError } from '../../errors.js';
import { listTokenKeys } from '../../openpgp/token-keys.js';
import { exportQuorumSet } from '../../ceremonies/quorum-export.js';
import { writeFileSync } from 'node:fs';
import { formatSetId } from '../../quorum/secret.js';
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
        const listing = await listTokenKeys(ts, now, canLogin);
        const listed = listing.keys
          .filter((k) => uri.object === undefined || k.label === uri.object)
          .map((k) => ({ ...k, startDate: k.startDate ? day(k.startDate) : null, endDate: k.endDate ? day(k.endDate) : null }));
        if (!canLogin) ctx.out.warn('no PIN available: private keys are hidden and validity is not checked against the key state records; give --pin-file or CEREMONY_PIN');
        ctx.out.line(`token '${ts.info.label}': ${listed.length} key(s)`);
        for (const k of listed) {
          ctx.out.line('');
          ctx.out.line(`${k.label}  ${k.role}${k.sealKey ? ', default seal key' : ''}  RSA-${k.bits}`);
          if (k.fingerprint) ctx.out.line(`    openpgp     ${k.fingerprint.replace(/(.{4})(?!$)/g, '$1 ')}`);
          ctx.out.line(`    use         --key '${k.keyUri}'`);
          // CKA_END_DATE is the last day the key may sign (inclusive, UTC).
          ctx.out.line(`    valid       ${k.startDate ?? '-'} to ${k.endDate ?? '-'} (last valid day, UTC) — ${k.validity}${k.state === 'authenticated' ? ', from its key state record' : k.state === 'legacy' ? ', from its public half (made before key state records)' : ', not checked (no PIN)'}`);
          ctx.out.line(`    protections ${k.missing.length === 0 ? `locked, sign-only${k.mechanismRestrictionUnsupported ? '' : ', RSA-PKCS only'}${k.extractable ? ', leaves the token only wrapped under an SO-trusted key' : k.extractable === false ? ', never extractable' : ''}` : `MISSING: ${k.missing.join(', ')}`}`);
          ctx.out.line(`    id          ${k.id}  (${k.halves.join(' + ')})`);
          for (const w of k.warnings) ctx.out.warn(`${k.label}: ${w}`);
        }
        if (listing.tampered.length) {
          throw new CeremonyError('TOKEN_TAMPERED', listing.tampered[0]!, { details: { keys: listed, tampered: listing.tampered } });
        }
        ctx.out.result({ ok: true, token: ts.info.label, loggedIn: canLogin, keys, listing: listed });
      } finally {
        ts.close();
      }
    });

  hsm
    .command('quorum-set')
    .description('export the quorum set in force on the root token, signed by the root key, for `shares check --descriptor` (no PIN)')
    .requiredOption('--token <uri>', 'the root token, e.g. pkcs11:token=root')
    .requiredOption('--out <file>', 'the file to write (never overwritten)')
    .option('--module <path>', 'PKCS#11 module')
    .action(async (opts: { token: string; out: string; module?: string }, cmd: Command) => {
      const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
      const uri = parseUriArg(opts.token, '--token');
      // The set and the root key's public half are public objects; the export checks the root signature first.
      const ts = await connectToken(uri, { module: opts.module, env: ctx.env, login: false, readWrite: false });
      let exported: Awaited<ReturnType<typeof exportQuorumSet>>;
      try {
        exported = await exportQuorumSet(ts, ctx.now());
      } finally {
        ts.close();
      }
      try {
        // Created, never replaced (flag wx): nothing planted at that path is overwritten or followed.
        writeFileSync(opts.out, exported.text, { flag: 'wx', mode: 0o644 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new CeremonyError('OUTPUT_EXISTS', `${opts.out} already exists; choose another --out`);
        throw new CeremonyError('OUTPUT_FAILED', `${opts.out} cannot be written`, { cause: e });
      }
      const d = exported.descriptor;
      ctx.out.line(`set ${formatSetId(d.setId)} in force on token '${uri.token ?? ''}': ${d.threshold} of ${d.custodians.length} (${d.custodians.join(', ')})`);
      ctx.out.line(`signed by root key ${exported.rootFingerprint.replace(/(.{4})(?!$)/g, '$1 ')}: compare it with root.fingerprint`);
      ctx.out.line(`wrote ${opts.out}; check shares offline with: ceremony shares check --descriptor ${opts.out} --share FILE…`);
      ctx.out.result({ ok: true, out: opts.out, set: d.setId, threshold: d.threshold, custodians: d.custodians, rootFingerprint: exported.rootFingerprint });
    });
}
