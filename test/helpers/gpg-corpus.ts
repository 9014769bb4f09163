/**
 * A GnuPG corpus built with the real `gpg` (2.2) in a throwaway GNUPGHOME, for tests that need signatures the
 * way a build server makes them. Reusable: `makeGpgCorpus()` gives a build-server key with several signing
 * subkeys (one revoked as compromised, one whose expiry was later set before a signature it made), an
 * untrusted key, and `sign`/`clearsign`/`flatcarDigests` to make more material. Call `cleanup()` when done.
 *
 * gpg 2.2 commands used: --quick-gen-key, --quick-add-key, --quick-set-expire (subkey by fingerprint),
 * --edit-key with --command-fd for `revkey` (there is no quick command to revoke a subkey), and
 * --faked-system-time to date keys and signatures in the past or the future.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

const DAY = 86_400;

export interface BuildServerKey {
  primary: string;
  /** Valid signing subkey, no expiry. */
  current: string;
  /** Signing subkey revoked with reason "compromised" (after it made `signatures.byRevoked`). */
  revoked: string;
  /** Signing subkey created at t0 whose expiry was set (at t0+1d) to t0+2d: it signed at t0+1h and again now. */
  expiring: string;
  /** The exported public certificate (armored), after the revocation and expiry change. */
  cert: string;
}

export interface GpgCorpus {
  dir: string;
  home: string;
  /** Unix seconds: 30 days ago, when the `expiring` subkey was made. */
  t0: number;
  build: BuildServerKey;
  untrusted: { primary: string; cert: string };
  /** Signatures over `sample` made before the keys changed. */
  sample: string;
  signatures: { byRevoked: string; byExpiredKey: string; byExpiringWhileValid: string };
  gpg(args: string[], input?: string): string;
  /** A detached signature by `key` (a fingerprint; the trailing ! forces that exact subkey). */
  sign(file: string, key: string, opts?: { armor?: boolean; digestAlgo?: string; time?: number; textmode?: boolean; out?: string }): string;
  clearsign(file: string, key: string, opts?: { time?: number; out?: string }): string;
  /** Write a DIGESTS file in Flatcar's layout (create_digests) for `files`, with the given algorithms. */
  flatcarDigests(out: string, files: string[], algorithms?: ('md5' | 'sha1' | 'sha256' | 'sha512')[]): string;
  cleanup(): void;
}

function fingerprints(colons: string): string[] {
  return colons
    .split('\n')
    .filter((l) => l.startsWith('fpr:'))
    .map((l) => l.split(':')[9]!);
}

export function makeGpgCorpus(): GpgCorpus {
  const dir = mkdtempSync(join(tmpdir(), 'gpgc-'));
  const home = join(dir, 'gnupg');
  spawnSync('mkdir', ['-m', '700', home]);
  const base = ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', ''];
  const gpg = (args: string[], input?: string): string => {
    const r = spawnSync('gpg', [...base, ...args], { input, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`gpg ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  };
  const at = (time?: number) => (time === undefined ? [] : ['--faked-system-time', String(Math.floor(time))]);
  const now = Math.floor(Date.now() / 1000);
  const t0 = now - 30 * DAY;

  const newKey = (uid: string, usage: string, time?: number): string => {
    gpg([...at(time), '--quick-gen-key', uid, 'rsa2048', usage, 'never']);
    return fingerprints(gpg(['--with-colons', '--list-keys', uid]))[0]!;
  };
  const addSubkey = (primary: string, time?: number): string => {
    const before = new Set(fingerprints(gpg(['--with-colons', '--list-keys', primary])));
    gpg([...at(time), '--quick-add-key', primary, 'rsa2048', 'sign', 'never']);
    return fingerprints(gpg(['--with-colons', '--list-keys', primary])).find((f) => !before.has(f))!;
  };

  const sign: GpgCorpus['sign'] = (file, key, opts = {}) => {
    const out = opts.out ?? `${file}.${opts.armor ? 'asc' : 'sig'}`;
    gpg([
      ...at(opts.time),
      '--local-user', `${key}!`,
      ...(opts.armor ? ['--armor'] : []),
      ...(opts.digestAlgo ? ['--digest-algo', opts.digestAlgo] : []),
      ...(opts.textmode ? ['--textmode'] : []),
      '--output', out, '--detach-sign', file,
    ]);
    return out;
  };
  const clearsign: GpgCorpus['clearsign'] = (file, key, opts = {}) => {
    const out = opts.out ?? `${file}.asc`;
    gpg([...at(opts.time), '--local-user', `${key}!`, '--output', out, '--clearsign', file]);
    return out;
  };
  const flatcarDigests: GpgCorpus['flatcarDigests'] = (out, files, algorithms = ['md5', 'sha1', 'sha512']) => {
    let text = '';
    for (const a of algorithms) {
      text += `# ${a.toUpperCase()} HASH\n`;
      for (const f of files) text += `${createHash(a).update(readFileSync(f)).digest('hex')}  ${basename(f)}\n`;
    }
    writeFileSync(out, text);
    return out;
  };

  // The build server: a certify-only primary made before t0, signing subkeys.
  const primary = newKey('Test Build Server <build@example.invalid>', 'cert', t0 - DAY);
  const current = addSubkey(primary);
  const revoked = addSubkey(primary);
  const expiring = addSubkey(primary, t0);
  const untrustedPrimary = newKey('Untrusted Signer <evil@example.invalid>', 'sign');

  const sample = join(dir, 'sample.bin');
  writeFileSync(sample, createHash('sha512').update('sample release').digest());
  const signatures = {
    byRevoked: sign(sample, revoked, { out: join(dir, 'sample.by-revoked.sig') }),
    byExpiringWhileValid: sign(sample, expiring, { time: t0 + 3600, out: join(dir, 'sample.by-expiring-while-valid.sig') }),
    byExpiredKey: sign(sample, expiring, { out: join(dir, 'sample.by-expired-key.sig') }),
  };

  // Now the key changes: the expiring subkey gets an expiry of t0+2d (set at t0+1d), the revoked one is revoked
  // as compromised (reason 1, RFC 4880 §5.2.3.23).
  gpg([...at(t0 + DAY), '--quick-set-expire', primary, '1d', expiring]);
  const script = `key ${revoked}\nrevkey\ny\n1\ncompromised (test corpus)\n\ny\nsave\n`;
  gpg(['--command-fd', '0', '--status-fd', '2', '--edit-key', primary], script);

  const buildCert = join(dir, 'build-server.asc');
  writeFileSync(buildCert, gpg(['--armor', '--export', primary]));
  const untrustedCert = join(dir, 'untrusted.asc');
  writeFileSync(untrustedCert, gpg(['--armor', '--export', untrustedPrimary]));

  return {
    dir,
    home,
    t0,
    build: { primary, current, revoked, expiring, cert: buildCert },
    untrusted: { primary: untrustedPrimary, cert: untrustedCert },
    sample,
    signatures,
    gpg,
    sign,
    clearsign,
    flatcarDigests,
    cleanup() {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
