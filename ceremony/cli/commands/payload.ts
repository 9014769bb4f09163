/**
 * `ceremony payload sign` and `ceremony payload verify` (DESIGN §5): Flatcar CrAU update payloads.
 * Thin shells over ceremony/payload; the HSM side is one login per token, whatever the number of keys.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { startPayloadSign, type StartedPayloadSign } from '../../ceremonies/payload-start.js';
import { CeremonyError } from '../../errors.js';
import { readInputFile } from '../../files.js';
import { parseUriArg } from '../../hsm/connect.js';
import { spkiSha256Hex } from '../../crypto.js';
import { inspectPayload, payloadRefusal, type Progress } from '../../payload/index.js';
import type { CliContext } from '../context.js';
import { withCeremonyOptions, withConfirmOption, type CeremonyCliOptions } from '../ceremony-options.js';

interface SignOpts extends CeremonyCliOptions {
  key: string[];
  out: string;
  trustedKey?: string[];
  revokerKey?: string[];
  allowUnverified?: boolean;
  force?: boolean;
}

interface VerifyOpts {
  publicKey: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function readPublicKey(path: string): KeyObject {
  const pem = readInputFile(path, 'public key', 64 * 1024);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new CeremonyError('INPUT_MALFORMED', `${path} is not a PEM public key`, { cause: e });
  }
  if (key.asymmetricKeyType !== 'rsa')
    throw new CeremonyError(
      'INPUT_MALFORMED',
      `${path} is not an RSA public key; update_engine checks RSA signatures only`,
    );
  return key;
}

/** A progress line on a terminal only (never in --json runs or logs). */
function progressReporter(ctx: CliContext, label: string): { tick: (p: Progress) => void; done: () => void } {
  const tty = process.stderr.isTTY && !ctx.out.json;
  let last = -1;
  return {
    tick(p) {
      if (!tty) return;
      const pct = p.total === 0 ? 100 : Math.floor((p.bytes / p.total) * 100);
      if (pct !== last) {
        last = pct;
        process.stderr.write(
          `\r${label} ${pct}% (${(p.bytes / 1048576).toFixed(0)} of ${(p.total / 1048576).toFixed(0)} MiB)`,
        );
      }
    },
    done() {
      if (tty && last >= 0) process.stderr.write('\n');
    },
  };
}

/** SIGINT/SIGTERM abort the copy so the temp file is removed (a SIGKILL cannot be caught; see the README). */
function abortOnSignals(): { signal: AbortSignal; release: () => void } {
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    release() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export function registerPayload(program: Command, ctxFor: (json: boolean) => CliContext): void {
  const payload = program.command('payload').description('sign and verify Flatcar update payloads (CrAU)');

  const sign = payload
    .command('sign')
    .description(
      'the payload ceremony: verify the server signature (with --trusted-key), sign on the HSM byte-identical to delta_generator; several --key give several signatures, the last one version 2',
    )
    .argument('<payload>', 'the unsigned payload (delta_generator output)')
    .requiredOption(
      '--key <uri>',
      'a signing key, e.g. pkcs11:token=signing;object=payload-2026 (repeat for several signatures, in order)',
      collect,
    )
    .requiredOption(
      '--out <file>',
      'where to write the signed payload (refused if it exists, unless --force)',
    )
    .option(
      '--trusted-key <cert>',
      "pinned build server certificate: the payload's signature (and DIGESTS) are verified first (repeatable)",
      collect,
    )
    .option(
      '--revoker-key <cert>',
      'the certificate of a designated revoker a pinned certificate names, to check its revocations (repeatable)',
      collect,
    )
    .option(
      '--allow-unverified',
      'sign without --trusted-key, the server signature unchecked (recorded as an override that the audit reports)',
    )
    .option('--force', 'replace --out if it exists');
  withConfirmOption(withCeremonyOptions(
    sign,
    'the HSM key that seals the ceremony record (default: the newest valid OpenPGP signing key on the token)',
  )).action(async (input: string, opts: SignOpts, cmd: Command) => {
    const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
    const keys = opts.key.map((k) => parseUriArg(k, '--key'));
    const sealKey = opts.sealKey ? parseUriArg(opts.sealKey, '--seal-key') : undefined;
    const { signal, release } = abortOnSignals();
    const progress = progressReporter(ctx, 'signing');
    const paths = {
      input: resolve(ctx.cwd, input),
      output: resolve(ctx.cwd, opts.out),
      trustedKeys: opts.trustedKey?.map((f) => resolve(ctx.cwd, f)),
      revokerKeys: opts.revokerKey?.map((f) => resolve(ctx.cwd, f)),
    };
    let started: StartedPayloadSign | undefined;
    try {
      // The pass starts before the ceremony's code is loaded (OpenPGP, the record, the release verifier:
      // payload-start.ts imports none of it), so that loading it overlaps the disk's work.
      started = startPayloadSign({ ...paths, keys, sealKey, allowUnverified: Boolean(opts.allowUnverified), overwrite: opts.force, signal, module: opts.module, env: ctx.env });
      const [{ runPayloadSign }, { ceremonyContext }] = await Promise.all([import('../../ceremonies/payload-sign.js'), import('../ceremony-context.js')]);
      const { payload: r, record } = await runPayloadSign({
        ...ceremonyContext(
          ctx,
          opts,
          [
            { name: 'key', value: opts.key },
            { name: 'out', value: opts.out },
            { name: 'payload', value: input },
            ...(opts.trustedKey ? [{ name: 'trusted-key' as const, value: opts.trustedKey }] : []),
            ...(opts.revokerKey ? [{ name: 'revoker-key' as const, value: opts.revokerKey }] : []),
            ...(opts.allowUnverified ? [{ name: 'allow-unverified' as const, value: true }] : []),
          ],
          (_label, done, total) => progress.tick({ bytes: done, total }),
        ),
        ...paths,
        keys,
        allowUnverified: Boolean(opts.allowUnverified),
        overwrite: opts.force,
        signal,
      }, started);
      progress.done();
      ctx.out.result({
        ok: true,
        input: r.input,
        output: r.output,
        inputSha256: r.inputSha256,
        signedHash: r.signedHash,
        outputSha256: r.outputSha256,
        size: r.size,
        signaturesOffset: r.signaturesOffset,
        signaturesSize: r.signaturesSize,
        signatures: r.signatures,
        record: record.dir,
      });
      ctx.out.line(`signed ${r.input} -> ${r.output}`);
      ctx.out.line(`  input  sha256 ${r.inputSha256.toString('hex')}`);
      ctx.out.line(
        `  signed sha256 ${r.signedHash.toString('hex')}  (bytes 0..${r.size - r.signaturesSize})`,
      );
      for (const s of r.signatures) {
        ctx.out.line(
          `  signature version ${s.version}  ${s.bytes} bytes  ${s.key}${s.version === 2 ? '  (checked by update_engine)' : ''}`,
        );
      }
      ctx.out.line(`  output sha256 ${r.outputSha256.toString('hex')}`);
      ctx.out.line(`  record ${record.dir}`);
    } finally {
      // runPayloadSign abandons the pass too; this covers a failure before it was called.
      await started?.pending?.abandon();
      progress.done();
      release();
    }
  });

  payload
    .command('verify')
    .description(
      'check a signed payload as update_engine does (its version-2 signature over everything before the signatures) and list every signature',
    )
    .argument('<payload>', 'the signed payload')
    .requiredOption(
      '--public-key <pem>',
      'an RSA public key (SPKI PEM), e.g. update-payload-key.pub.pem (repeatable)',
      collect,
    )
    .action(async (path: string, opts: VerifyOpts, cmd: Command) => {
      const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
      const keys = opts.publicKey.map(readPublicKey);
      const progress = progressReporter(ctx, 'hashing');
      let v;
      try {
        v = await inspectPayload(path, keys, { onProgress: progress.tick });
      } finally {
        progress.done();
      }
      const named = (i: number) => opts.publicKey[i]!;
      const signatures = v.signatures.map((s) => ({
        index: s.index,
        version: s.version ?? null,
        bytes: s.bytes,
        checkedByUpdateEngine: s.checkedByUpdateEngine,
        verifiedBy: s.verifiedBy.map(named),
      }));
      const publicKeys = keys.map((k, i) => ({ file: named(i), spkiSha256: spkiSha256Hex(k) }));
      ctx.out.line(
        `${path}: ${v.signatures.length} signature(s); signed bytes 0..${v.signedBytes}, sha256 ${v.hash.toString('hex')}`,
      );
      for (const s of signatures) {
        const by = s.verifiedBy.length
          ? `valid with ${s.verifiedBy.join(', ')}`
          : 'not valid with the given key(s)';
        ctx.out.line(
          `  #${s.index + 1}  version ${s.version ?? '(none)'}  ${s.bytes} bytes  ${by}${s.checkedByUpdateEngine ? '  <- checked by update_engine' : ''}`,
        );
      }
      const report = {
        payload: path,
        signedBytes: v.signedBytes,
        signedHash: v.hash.toString('hex'),
        publicKeys,
        signatures,
        reason: v.reason,
      };
      if (!v.ok)
        throw new CeremonyError('PAYLOAD_SIGNATURE_INVALID', payloadRefusal(path, v).message, {
          details: report,
        });
      ctx.out.result({ ok: true, ...report });
      ctx.out.line(`OK: update_engine would accept it (${v.reason})`);
    });
}
