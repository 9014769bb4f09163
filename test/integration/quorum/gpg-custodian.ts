/** A custodian's OpenPGP key made by the real gpg (2.2) in a throwaway GNUPGHOME. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GpgCustodian {
  home: string;
  publicKey: string;
  privateKey: string;
  passphraseFile: string;
  gpg(args: string[], input?: string): { status: number; stdout: string; stderr: string };
  cleanup(): void;
}

export function makeGpgCustodian(uid: string, algo = 'default'): GpgCustodian {
  const home = mkdtempSync(join(tmpdir(), 'ceremony-gpg-'));
  const passphraseFile = join(home, 'passphrase');
  writeFileSync(passphraseFile, 'custodian test passphrase\n', { mode: 0o600 });
  const base = ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase-file', passphraseFile];
  const gpg = (args: string[], input?: string) => {
    const r = spawnSync('gpg', [...base, ...args], { input, encoding: 'utf8' });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const must = (args: string[]) => {
    const r = gpg(args);
    if (r.status !== 0) throw new Error(`gpg ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  must(['--quick-gen-key', uid, algo, 'default', 'never']);
  if (algo !== 'default') {
    const fpr = /^fpr:+([0-9A-F]+):/m.exec(must(['--with-colons', '--list-keys', uid]))![1]!;
    must(['--quick-add-key', fpr, algo, 'encr', 'never']);
  }
  return {
    home,
    publicKey: must(['--armor', '--export', uid]),
    privateKey: must(['--armor', '--export-secret-keys', uid]),
    passphraseFile,
    gpg,
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  };
}
