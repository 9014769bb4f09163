/** A throwaway GnuPG home for interop checks: import, verify (with --status-fd), decrypt, list. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GpgRun {
  code: number;
  stdout: string;
  stderr: string;
  /** `[GNUPG:] ` status lines without the prefix. */
  status: string[];
}

export interface GpgHome {
  home: string;
  run(args: string[], input?: string | Buffer): GpgRun;
  importKey(file: string): void;
  verify(signature: string, data: string): GpgRun;
  /** `gpg --with-colons --list-keys` rows split on ':' */
  colons(): string[][];
  cleanup(): void;
}

export function makeGpgHome(): GpgHome {
  const dir = mkdtempSync(join(tmpdir(), 'gpgh-'));
  const home = join(dir, 'g');
  spawnSync('mkdir', ['-m', '700', home]);
  chmodSync(home, 0o700);
  const run = (args: string[], input?: string | Buffer): GpgRun => {
    const r = spawnSync('gpg', ['--homedir', home, '--batch', '--yes', '--status-fd', '2', '--pinentry-mode', 'loopback', ...args], { input, encoding: 'utf8' });
    const stderr = r.stderr ?? '';
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr, status: stderr.split('\n').filter((l) => l.startsWith('[GNUPG:] ')).map((l) => l.slice(9)) };
  };
  return {
    home,
    run,
    importKey(file) {
      const r = run(['--import', file]);
      if (r.code !== 0) throw new Error(`gpg --import ${file} failed: ${r.stderr}`);
    },
    verify(signature, data) {
      return run(['--verify', signature, data]);
    },
    colons() {
      return run(['--with-colons', '--fixed-list-mode', '--list-keys']).stdout.split('\n').filter(Boolean).map((l) => l.split(':'));
    },
    cleanup() {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
