/**
 * Stand-in builders for the agreement tests (issue 15): one throwaway GnuPG home holding an ed25519 signing key
 * per builder (and one for the build server), made with the real `gpg` 2.2 (`--quick-gen-key NAME ed25519 sign`).
 * Each builder publishes FILE.DIGESTS.<name>.asc, clearsigned with its own key, as a rebuilder would.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flatcarDigests } from '../../ceremony/release/demo-build-server.js';

export interface StandInBuilders {
  dir: string;
  /** Certificate path per key name (builders and 'server'). */
  cert: Record<string, string>;
  fpr: Record<string, string>;
  /** A release file signed by 'server' (FILE.sig, FILE.DIGESTS.asc). */
  release(name: string, bytes: Uint8Array): string;
  /** Builder `by` clearsigns `text` as FILE.DIGESTS.<as>.asc (normally as === by). */
  publishDigests(file: string, text: string, by: string, as?: string): string;
  digestsOf(name: string, bytes: Uint8Array): string;
  gpg(args: string[], input?: string): string;
  cleanup(): void;
}

export function makeStandInBuilders(names: string[]): StandInBuilders {
  const dir = mkdtempSync(join(tmpdir(), 'builders-'));
  const home = join(dir, 'gnupg');
  spawnSync('mkdir', ['-m', '700', home]);
  const gpg = (args: string[], input?: string): string => {
    const r = spawnSync('gpg', ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { input, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`gpg ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const cert: Record<string, string> = {};
  const fpr: Record<string, string> = {};
  for (const n of ['server', ...names]) {
    const uid = `${n} (throwaway stand-in) <${n}@builders.invalid>`;
    gpg(['--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
    const colons = gpg(['--with-colons', '--list-keys', uid]);
    fpr[n] = colons.split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9]!;
    cert[n] = join(dir, `${n}.asc`);
    writeFileSync(cert[n], gpg(['--armor', '--export', fpr[n]!]));
  }
  const sign = (key: string, args: string[]) => gpg(['--local-user', `${fpr[key]}!`, '--digest-algo', 'SHA512', ...args]);
  const digestsOf = (name: string, bytes: Uint8Array) => flatcarDigests([{ name, bytes }]);
  return {
    dir,
    cert,
    fpr,
    gpg,
    digestsOf,
    release(name, bytes) {
      const file = join(dir, name);
      writeFileSync(file, bytes);
      sign('server', ['--detach-sign', '--output', `${file}.sig`, file]);
      writeFileSync(`${file}.DIGESTS`, digestsOf(name, bytes));
      sign('server', ['--clearsign', '--output', `${file}.DIGESTS.asc`, `${file}.DIGESTS`]);
      return file;
    },
    publishDigests(file, text, by, as = by) {
      const plain = join(dir, `digests-${as}-${Math.random().toString(16).slice(2)}.txt`);
      writeFileSync(plain, text);
      const out = `${file}.DIGESTS.${as}.asc`;
      sign(by, ['--clearsign', '--output', out, plain]);
      return out;
    },
    cleanup() {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
