/** `ceremony shares check` (DESIGN §5): every check a renewal makes on shares, without the HSM. */
import type { Command } from 'commander';
import { CeremonyError } from '../../errors.js';
import { loadConfig } from '../../config.js';
import { readInputFile } from '../../files.js';
import { checkShares, type ShareCheckEntry, type ShareInput } from '../../quorum/check.js';
import { readDescriptorFile, MAX_EXPORT_BYTES } from '../../ceremonies/quorum-export.js';
import { MAX_SHARE_FILE_BYTES } from '../../quorum/encrypt.js';
import type { CliContext } from '../context.js';

interface CheckOpts {
  config: string;
  share: string[];
  descriptor?: string;
  rootFingerprint?: string;
  privateKey?: string;
  passphraseFile?: string;
}

const STATUS_WORD: Record<ShareCheckEntry['status'], string> = {
  ok: 'ok',
  malformed: 'MALFORMED',
  invalid: 'INVALID',
  foreign: 'FOREIGN',
  duplicate: 'DUPLICATE',
  misfit: 'MISFIT',
  encrypted: 'encrypted',
};

export function registerShares(program: Command, ctxFor: (json: boolean) => CliContext): void {
  const shares = program.command('shares').description('quorum shares: check them without the HSM');

  shares
    .command('check')
    .description('check shares: format, checksum, set, duplicates, and with k shares the set commitment (no HSM)')
    .requiredOption('--config <file>', 'the ceremony config (its custodians are compared with the shares)')
    .requiredOption('--share <file...>', 'share files (.share, or .share.asc encrypted to a custodian)')
    .option('--descriptor <file>', 'the set in force, as `ceremony hsm quorum-set --out` exports it from the root token (signed by the root key); shares of any other set are refused')
    .option('--root-fingerprint <fpr>', "with --descriptor: refuse it unless signed by this root key (root.fingerprint)")
    .option('--private-key <file>', "a custodian's armored OpenPGP private key, to check the encrypted shares made for it")
    .option('--passphrase-file <file>', 'the passphrase of --private-key')
    .action(async (opts: CheckOpts, cmd: Command) => {
      const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
      const config = loadConfig(opts.config);
      if (opts.rootFingerprint && !opts.descriptor) throw new CeremonyError('USAGE', '--root-fingerprint needs --descriptor');
      const given = opts.descriptor ? await readDescriptorFile(readInputFile(opts.descriptor, 'quorum set descriptor', MAX_EXPORT_BYTES), opts.descriptor, opts.rootFingerprint) : undefined;
      const expected = given?.descriptor;
      if (opts.passphraseFile && !opts.privateKey) throw new CeremonyError('USAGE', '--passphrase-file needs --private-key');
      const privateKey = opts.privateKey ? readInputFile(opts.privateKey, 'private key', 1024 * 1024).toString('utf8') : undefined;
      const passphrase = opts.passphraseFile ? trimNewline(readInputFile(opts.passphraseFile, 'passphrase file', 4096)) : undefined;
      const inputs: ShareInput[] = [];
      try {
        for (const file of opts.share) inputs.push({ source: file, bytes: readInputFile(file, 'share file', MAX_SHARE_FILE_BYTES) });
      } catch (e) {
        for (const i of inputs) i.bytes.fill(0);
        throw e;
      }
      const report = await checkShares(inputs, { ...(expected ? { expected } : {}), ...(privateKey ? { privateKey } : {}), ...(passphrase ? { passphrase } : {}) });
      passphrase?.fill(0);

      const known = new Set(config.quorum.custodians.map((c) => c.name.toLowerCase()));
      const notes = report.entries
        .filter((e) => e.custodian && !known.has(e.custodian.toLowerCase()))
        .map((e) => `${e.custodian} (${e.source}) is not a custodian in ${config.path}; fine if the config already names the next set`);

      // Without the token (or an export of it) nothing here knows which set is in force (issue 12 item 12).
      const setInForce = given?.rootFingerprint ? 'known' : given ? 'unauthenticated' : 'unknown';
      const summary = {
        ok: report.ok,
        set: report.setId ?? null,
        setFrom: report.expectedFrom,
        setInForce,
        ...(given?.rootFingerprint ? { rootFingerprint: given.rootFingerprint } : {}),
        threshold: report.threshold ?? null,
        accepted: report.accepted,
        commitment: report.commitment,
        shares: report.entries,
        notes,
      };
      const width = Math.max(1, ...report.entries.map((e) => e.custodian?.length ?? 0));
      for (const e of report.entries) {
        const where = e.index !== undefined ? `  share ${e.index} of ${e.total}  set ${e.setId}` : '';
        ctx.out.line(`${STATUS_WORD[e.status].padEnd(10)} ${(e.custodian ?? '-').padEnd(width)}${where}  ${e.source}`);
        if (e.message && e.status !== 'ok') ctx.out.line(`           ${e.message}`);
      }
      if (report.setId) {
        const from = report.expectedFrom === 'descriptor' ? 'from the descriptor' : 'named by most shares';
        ctx.out.line(`set        ${report.setId} (${from}), threshold ${report.threshold}, ${report.accepted} share(s) accepted`);
      }
      if (setInForce === 'known') {
        ctx.out.line(`in force   set ${report.setId} is the set in force on the root token, signed by root key ${given!.rootFingerprint!.replace(/(.{4})(?!$)/g, '$1 ')} (compare it with root.fingerprint)`);
      } else {
        ctx.out.line(
          setInForce === 'unauthenticated'
            ? 'in force   UNKNOWN: the descriptor file is not a signed export, so it may not be the set in force; export it with `ceremony hsm quorum-set --token pkcs11:token=ROOT --out FILE`'
            : 'in force   UNKNOWN without the HSM: a renewal may have superseded this set; export the set in force with `ceremony hsm quorum-set --token pkcs11:token=ROOT --out FILE` and check again with --descriptor FILE',
        );
      }
      ctx.out.line(
        `commitment ${
          report.commitment === 'verified'
            ? `verified: the shares combine to the secret committed for this set${setInForce === 'known' ? '' : ' (whether it is in force is not known)'}`
            : report.commitment === 'mismatch'
              ? 'MISMATCH: the shares do not combine to the set\'s secret'
              : `not checked: it needs ${report.threshold ?? 'k'} good shares`
        }`,
      );
      for (const n of notes) ctx.out.warn(n);
      if (report.failure) {
        const f = report.failure;
        throw new CeremonyError(f.code, f.message, { details: { ...f.details, report: summary } });
      }
      ctx.out.result(summary);
    });
}

function trimNewline(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0x0a || b[end - 1] === 0x0d)) end--;
  const out = Buffer.from(b.subarray(0, end));
  b.fill(0);
  return out;
}
