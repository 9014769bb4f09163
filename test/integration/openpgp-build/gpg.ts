/** A throwaway GnuPG home for one test: import, list with colons, verify with --status-fd. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Gpg {
  home: string;
  run(args: string[]): { code: number; stdout: string; stderr: string };
  importKey(path: string): void;
  /** `--with-colons --list-keys` records split into fields. */
  colons(): string[][];
  /** `--verify SIG FILE` with `--status-fd 1`: the [GNUPG:] status lines. */
  verify(sig: string, file: string): { code: number; status: string[] };
  cleanup(): void;
}

export function makeGpg(): Gpg {
  const home = mkdtempSync(join(tmpdir(), 'ceremony-gnupg-'));
  const run = (args: string[]) => {
    const r = spawnSync('gpg', ['--homedir', home, '--batch', '--no-tty', '--pinentry-mode', 'loopback', ...args], { encoding: 'utf8' });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  return {
    home,
    run,
    importKey(path) {
      const r = run(['--import', path]);
      if (r.code !== 0) throw new Error(`gpg --import failed: ${r.stderr}`);
    },
    colons() {
      return run(['--with-colons', '--fixed-list-mode', '--list-keys']).stdout.trim().split('\n').map((l) => l.split(':'));
    },
    verify(sig, file) {
      const r = run(['--status-fd', '1', '--verify', sig, file]);
      return { code: r.code, status: r.stdout.split('\n').filter((l) => l.startsWith('[GNUPG:] ')).map((l) => l.slice(9)) };
    },
    cleanup() {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
      rmSync(home, { recursive: true, force: true });
    },
  };
}
