/**
 * A build server whose certificate names a designated revoker (RFC 4880 §5.2.3.15), made with the real `gpg`
 * in a throwaway GNUPGHOME: `--quick-gen-key`, `--edit-key … addrevoker` (a direct-key self-signature naming the
 * revoker), a release file signed before the revocation with its clearsigned Flatcar DIGESTS, then
 * `--desig-revoke` by the revoker (reason: compromised), imported and exported again. Call `cleanup()` when done.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export interface RevokerMaterial {
  dir: string;
  /** Fingerprints of the revoker and of the build server key. */
  revoker: string;
  build: string;
  /** Armored certificates: the revoker's; the build server's naming it, before and after the revocation; a stranger's. */
  cert: { revoker: string; named: string; revoked: string; stranger: string };
  /** The revocation certificate as `gpg --desig-revoke` wrote it (armored, not imported anywhere). */
  revocation: string;
  /** A release file signed by the build key before the revocation, with FILE.sig and FILE.DIGESTS.asc beside it. */
  file: string;
  signature: string;
  /** The `alsoSign` files, each with FILE.sig and FILE.DIGESTS.asc beside it, signed by the build key before the revocation. */
  also: string[];
  cleanup(): void;
}

export function makeRevokerMaterial(alsoSign: { name: string; bytes: Uint8Array }[] = []): RevokerMaterial {
  const dir = mkdtempSync(join(tmpdir(), 'desig-'));
  const home = join(dir, 'gnupg');
  spawnSync('mkdir', ['-m', '700', home]);
  const base = ['--homedir', home, '--yes', '--pinentry-mode', 'loopback', '--passphrase', ''];
  const gpg = (args: string[], input?: string): string => {
    const r = spawnSync('gpg', ['--batch', ...base, ...args], { input, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`gpg ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const fingerprintOf = (uid: string) => gpg(['--with-colons', '--list-keys', uid]).split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9]!;
  const exportTo = (name: string, fpr: string): string => {
    const out = join(dir, name);
    writeFileSync(out, gpg(['--armor', '--export', fpr]));
    return out;
  };

  gpg(['--quick-gen-key', 'Release Revoker <revoker@example.invalid>', 'ed25519', 'cert', 'never']);
  gpg(['--quick-gen-key', 'Build Server <build@example.invalid>', 'ed25519', 'sign', 'never']);
  gpg(['--quick-gen-key', 'Stranger <stranger@example.invalid>', 'ed25519', 'cert', 'never']);
  const revoker = fingerprintOf('revoker@example.invalid');
  const build = fingerprintOf('build@example.invalid');
  gpg(['--command-fd', '0', '--status-fd', '2', '--edit-key', build], `addrevoker\n${revoker}\ny\nsave\n`);
  const cert = { revoker: exportTo('revoker.asc', revoker), named: exportTo('build-names-revoker.asc', build), revoked: '', stranger: exportTo('stranger.asc', fingerprintOf('stranger@example.invalid')) };

  const file = join(dir, 'flatcar_production_image.bin');
  writeFileSync(file, 'release made before the key was revoked\n');
  const signature = `${file}.sig`;
  gpg(['--local-user', `${build}!`, '--output', signature, '--detach-sign', file]);
  writeFileSync(`${file}.DIGESTS`, `# SHA512 HASH\n${createHash('sha512').update(readFileSync(file)).digest('hex')}  ${basename(file)}\n`);
  gpg(['--local-user', `${build}!`, '--output', `${file}.DIGESTS.asc`, '--clearsign', `${file}.DIGESTS`]);
  const also = alsoSign.map(({ name, bytes }) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    gpg(['--local-user', `${build}!`, '--output', `${p}.sig`, '--detach-sign', p]);
    writeFileSync(`${p}.DIGESTS`, `# SHA512 HASH\n${createHash('sha512').update(bytes).digest('hex')}  ${name}\n`);
    gpg(['--local-user', `${build}!`, '--output', `${p}.DIGESTS.asc`, '--clearsign', `${p}.DIGESTS`]);
    return p;
  });

  // --desig-revoke refuses --batch: it is driven through --command-fd instead.
  const rev = join(dir, 'desig.rev');
  const r = spawnSync('gpg', ['--no-tty', ...base, '--command-fd', '0', '--status-fd', '2', '--armor', '--output', rev, '--desig-revoke', build], {
    input: 'y\n1\nkey compromised\n\ny\n',
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`gpg --desig-revoke failed: ${r.stderr}`);
  gpg(['--import', rev]);
  cert.revoked = exportTo('build-revoked.asc', build);

  return {
    dir,
    revoker,
    build,
    cert,
    revocation: rev,
    file,
    signature,
    also,
    cleanup() {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
