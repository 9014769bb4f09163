/**
 * `ceremony build-key request` (issue 15): run on the build server, not at the ceremony. It makes the
 * request `ceremony renew --build-subkey` certifies: the build server's own key as a subkey of the
 * root, with the key's back-signature (RFC 4880 §5.2.1, 0x19) over the root's public key. GnuPG cannot
 * make a 0x19 over a primary key it does not hold, so this command signs it, in memory, with the key
 * GnuPG exported; the secret is read from a file or stdin (never argv) and is never written.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { CeremonyError } from '../../errors.js';
import { createFileExclusive, fileExists, readInputFile, readStdinLimited } from '../../files.js';
import { MAX_CERTIFICATE_BYTES } from '../../openpgp/build/certificate.js';
import { makeBuildSubkeyRequest } from '../../openpgp/build/build-subkey-request.js';
import type { CliContext } from '../context.js';

interface RequestOpts {
  rootCert: string;
  keyFile: string;
  key?: string;
  out: string;
}

export function registerBuildKey(program: Command, ctxFor: (json: boolean) => CliContext): void {
  const cmd = program.command('build-key').description("the build server's side of its yearly signing subkey (certified at `ceremony renew --build-subkey`)");
  cmd
    .command('request')
    .description("make the build server's subkey request: its public key and back-signature over the root key")
    .requiredOption('--root-cert <file>', "the root's published certificate (certificate.asc)")
    .requiredOption('--key-file <file>', 'the build key from `gpg --export-secret-keys` (unprotected), or - for stdin')
    .option('--key <fingerprint>', 'which key of it to request for (default: its primary key)')
    .requiredOption('--out <file>', 'where the request is written (armored)')
    .action(async (opts: RequestOpts, c: Command) => {
      const ctx = ctxFor(Boolean(c.optsWithGlobals().json));
      const out = resolve(ctx.cwd, opts.out);
      if (fileExists(out)) throw new CeremonyError('OUTPUT_EXISTS', `${opts.out} already exists`);
      const rootCertificate = readInputFile(resolve(ctx.cwd, opts.rootCert), 'root certificate', MAX_CERTIFICATE_BYTES);
      const secretKey = opts.keyFile === '-' ? readStdinLimited('build key', 1 << 20) : readInputFile(resolve(ctx.cwd, opts.keyFile), 'build key', 1 << 20);
      try {
        const { armored, request } = await makeBuildSubkeyRequest({ rootCertificate, secretKey, key: opts.key, now: ctx.now() });
        // Created, never replaced: the early check above is for a quick refusal, this one holds (files.ts).
        createFileExclusive(out, armored);
        ctx.out.line(`build subkey      ${request.fingerprint} (${request.algorithm})`);
        ctx.out.line(`root              ${request.root.getFingerprint().toUpperCase()}`);
        ctx.out.line(`request           ${out}`);
        ctx.out.result({ ok: true, fingerprint: request.fingerprint, algorithm: request.algorithm, root: request.root.getFingerprint().toUpperCase(), request: out });
      } finally {
        secretKey.fill(0);
      }
    });
}
