/** `ceremony key generate` and `ceremony key export` (DESIGN §5). */
import type { Command } from 'commander';
import { CeremonyError } from '../../errors.js';
import { connectToken, parseUriArg } from '../../hsm/connect.js';
import { findPrivateKey, findKeys, generateRsaKeyPair, publicKeyOf, publicKeyPem, type KeyRole } from '../../hsm/keys.js';
import { writeFileAtomic } from '../../files.js';
import { createOpenpgpCertificateForKey, exportStoredCertificate } from '../../openpgp/hsm-store.js';
import { checkUserId } from '../../openpgp/build/certificate.js';
import type { CliContext } from '../context.js';
import { describeKeyForOutput } from './hsm.js';

interface GenerateOpts {
  token: string;
  label: string;
  bits: string;
  validDays?: string;
  openpgpUid?: string;
  role?: string;
  module?: string;
  pinFile?: string;
}

interface ExportOpts {
  key: string;
  format: string;
  out?: string;
  module?: string;
  pinFile?: string;
}

function parseWhole(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new CeremonyError('USAGE', `${what} must be a whole number, not "${text}"`);
  return Number(text);
}

export function registerKey(program: Command, ctxFor: (json: boolean) => CliContext): void {
  const key = program.command('key').description('make and export keys on the HSM');

  key
    .command('generate')
    .description('generate a locked RSA key pair on the token (sign-only; a payload key leaves it only wrapped under an SO-trusted key)')
    .requiredOption('--token <uri>', 'the token, e.g. pkcs11:token=signing')
    .requiredOption('--label <label>', 'the key label (CKA_LABEL)')
    .requiredOption('--bits <n>', '2048 (payload keys) or 4096')
    .option('--valid-days <n>', 'set CKA_START_DATE today and CKA_END_DATE this many days later')
    .option('--openpgp-uid <uid>', 'also build its OpenPGP certificate (signing primary key) with this user ID, e.g. "Name <email>", and store it on the token')
    .option('--role <role>', 'payload (backup-able; default for 2048 bits) or openpgp-key (never extractable; default otherwise)')
    .option('--module <path>', 'PKCS#11 module')
    .option('--pin-file <path>', 'read the user PIN from this file')
    .action(async (opts: GenerateOpts, cmd: Command) => {
      const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
      const bits = parseWhole(opts.bits, '--bits');
      if (bits !== 2048 && bits !== 4096) throw new CeremonyError('USAGE', `--bits must be 2048 or 4096, not ${opts.bits}`);
      const validDays = parseWhole(opts.validDays, '--valid-days');
      const role: KeyRole = (opts.role ?? (bits === 2048 && opts.openpgpUid === undefined ? 'payload' : 'openpgp-key')) as KeyRole;
      // root and signing-subkey keys are made by the key ceremonies, bound to the quorum; not here.
      if (role !== 'payload' && role !== 'openpgp-key') throw new CeremonyError('USAGE', `--role must be payload or openpgp-key, not "${opts.role}"`);
      // Refuse a bad user ID before a key is made, not after.
      if (opts.openpgpUid !== undefined) checkUserId(opts.openpgpUid);
      const uri = parseUriArg(opts.token, '--token');
      const ts = await connectToken(uri, { module: opts.module, pinFile: opts.pinFile, env: ctx.env, stdin: ctx.stdin, login: true, events: { warn: ctx.out.warn } });
      try {
        let k = generateRsaKeyPair(ts, { label: opts.label, bits, role, validDays, now: ctx.now(), warn: ctx.out.warn });
        let openpgp: { fingerprint: string; keyId: string; created: string } | undefined;
        if (opts.openpgpUid !== undefined) {
          const made = await createOpenpgpCertificateForKey(ts, k, { userId: opts.openpgpUid, now: ctx.now(), warn: ctx.out.warn });
          k = made.key;
          openpgp = { fingerprint: made.openpgp.fingerprint, keyId: made.openpgp.keyId, created: made.openpgp.created.toISOString() };
        }
        const shown = describeKeyForOutput(k, ctx.now());
        ctx.out.result({ ok: true, key: shown, ...(openpgp ? { openpgp } : {}) });
        ctx.out.line(`generated RSA-${k.bits} ${role} key '${k.label}' on token '${ts.info.label}' (locked, sign-only, ${k.protections.extractable ? 'leaves the token only wrapped under an SO-trusted key' : 'never extractable'})`);
        ctx.out.line(`  id       ${shown.id}`);
        ctx.out.line(`  valid    ${shown.startDate ?? '-'} .. ${shown.endDate ?? '-'}`);
        ctx.out.line(`  uri      ${k.uri}`);
        if (openpgp) {
          ctx.out.line(`  openpgp  ${openpgp.fingerprint.replace(/(.{4})(?!$)/g, '$1 ')} (certificate stored on the token)`);
        }
      } finally {
        ts.close();
      }
    });

  key
    .command('export')
    .description('export the public half of an HSM key')
    .requiredOption('--key <uri>', 'the key, e.g. pkcs11:token=signing;object=payload-2026')
    .option('--format <format>', 'pem (SPKI) or openpgp (the stored certificate, armored)', 'pem')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--module <path>', 'PKCS#11 module')
    .option('--pin-file <path>', 'read the user PIN from this file (only needed for keys without a public object)')
    .action(async (opts: ExportOpts, cmd: Command) => {
      const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
      if (opts.format !== 'pem' && opts.format !== 'openpgp') throw new CeremonyError('USAGE', `--format must be pem or openpgp, not "${opts.format}"`);
      const uri = parseUriArg(opts.key, '--key');
      if (opts.format === 'openpgp') {
        // The certificate and the public half are public objects: no PIN.
        const ro = await connectToken(uri, { module: opts.module, env: ctx.env, login: false, readWrite: false });
        let exported: Awaited<ReturnType<typeof exportStoredCertificate>>;
        try {
          exported = await exportStoredCertificate(ro, uri);
        } finally {
          ro.close();
        }
        if (opts.out) {
          writeFileAtomic(opts.out, exported.armored);
          ctx.out.line(`wrote ${opts.out}`);
        } else if (!ctx.out.json) {
          process.stdout.write(exported.armored);
        }
        ctx.out.result({ ok: true, format: 'openpgp', fingerprint: exported.fingerprint, keyId: exported.keyId, ...(opts.out ? { out: opts.out } : {}), certificate: exported.armored });
        return;
      }
      // The public object is readable without a PIN; fall back to the private key's modulus after login.
      let ts = await connectToken(uri, { module: opts.module, env: ctx.env, login: false, readWrite: false });
      let pem: string;
      try {
        const pubs = findKeys(ts, { ...uri, type: 'public' });
        if (pubs.length > 1) throw new CeremonyError('KEY_AMBIGUOUS', `token '${ts.info.label}' has ${pubs.length} public keys matching; add id= to the URI`);
        if (pubs.length === 1) {
          pem = publicKeyPem(publicKeyOf(ts, pubs[0]!.handle));
        } else {
          ts.close();
          ts = await connectToken(uri, { module: opts.module, pinFile: opts.pinFile, env: ctx.env, stdin: ctx.stdin, login: true, readWrite: false, events: { warn: ctx.out.warn } });
          pem = publicKeyPem(publicKeyOf(ts, findPrivateKey(ts, uri).handle));
        }
      } finally {
        ts.close();
      }
      if (opts.out) {
        writeFileAtomic(opts.out, pem);
        ctx.out.line(`wrote ${opts.out}`);
      } else if (!ctx.out.json) {
        process.stdout.write(pem);
      }
      ctx.out.result({ ok: true, format: opts.format, ...(opts.out ? { out: opts.out } : {}), pem });
    });
}
