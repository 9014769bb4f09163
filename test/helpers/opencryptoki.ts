/**
 * A throwaway openCryptoki (the second PKCS#11 implementation the suite runs on, issue 10): its `pkcsslotd`
 * daemon with software tokens (PKCS11_SW), started and stopped by the test itself.
 *
 * openCryptoki 3.8 (Debian 12) has its paths compiled in: the config /etc/opencryptoki/opencryptoki.conf,
 * the token store /var/lib/opencryptoki, the socket /run/pkcsslotd.socket, locks under /run/lock and
 * shared memory in /dev/shm; no environment variable moves them. To keep the machine's own state out of
 * it, the daemon runs in a private mount namespace (`unshare -m`) where a temporary directory is
 * bind-mounted over those paths, and every client (the `ceremony` CLI, pkcs11-tool, the attacker script)
 * joins that namespace with `nsenter`. This needs root (CAP_SYS_ADMIN), as CI and these machines have;
 * `opencryptokiUnavailable()` says why when it cannot run. Clients therefore run as child processes: a
 * test process cannot join a mount namespace itself.
 */
import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './cli.js';

export const OPENCRYPTOKI_MODULE = '/usr/lib/x86_64-linux-gnu/pkcs11/libopencryptoki.so';
/** Every fresh openCryptoki software token has this SO PIN until it is changed (openCryptoki's default). */
export const OPENCRYPTOKI_DEFAULT_SO_PIN = '87654321';
const ADMIN = join(__dirname, 'pkcs11-admin.mjs');

/** Why the openCryptoki tests cannot run here, or undefined when they can. */
export function opencryptokiUnavailable(): string | undefined {
  if (!existsSync(OPENCRYPTOKI_MODULE) || !existsSync('/usr/sbin/pkcsslotd')) return 'openCryptoki is not installed (Debian package opencryptoki; scripts/setup.sh installs it)';
  if (process.getuid?.() !== 0) return 'the openCryptoki tests need root to give pkcsslotd a private mount namespace';
  const probe = spawnSync('unshare', ['-m', '--propagation', 'private', 'true']);
  if (probe.status !== 0) return `mount namespaces are not available here (${probe.stderr.toString().trim()})`;
  return undefined;
}

export interface OpenCryptoki {
  dir: string;
  module: string;
  /** Run a program inside the daemon's namespace. */
  run(file: string, args: string[], opts?: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string }): SpawnSyncReturns<string>;
  /** The `ceremony` CLI inside the namespace, pointed at openCryptoki. */
  ceremony(args: string[], opts?: { env?: NodeJS.ProcessEnv; cwd?: string }): { code: number; stdout: string; stderr: string; json<T>(): T };
  /** Initialize a free slot's token: label, SO PIN (changed from openCryptoki's default) and user PIN. */
  initToken(label: string, userPin: string, soPin: string): void;
  stop(): void;
}

/** Start pkcsslotd with `slots` software token slots in a namespace of its own. */
export async function startOpenCryptoki(slots = 3): Promise<OpenCryptoki> {
  const dir = mkdtempSync(join(tmpdir(), 'ceremony-ock-'));
  chmodSync(dir, 0o755);
  for (const d of ['etc', 'lib']) mkdirSync(join(dir, d));
  let conf = 'version opencryptoki-3.1\n';
  // tokname gives each slot a store of its own under /var/lib/opencryptoki/<tokname>. Each slot also
  // gets its own copy of the software-token library: openCryptoki 3.8 keeps the token's object and login
  // state in the library's globals, so two slots served by one loaded copy share them, and logging in to
  // the signing token invalidates the root token's private key handles (CKR_KEY_FUNCTION_NOT_PERMITTED
  // at the next signature). A ceremony uses both tokens in one process, so it needs one copy per slot.
  mkdirSync(join(dir, 'stdll'));
  for (let i = 0; i < slots; i++) {
    copyFileSync('/usr/lib/x86_64-linux-gnu/opencryptoki/stdll/libpkcs11_sw.so', join(dir, 'stdll', `libpkcs11_sw${i}.so`));
    conf += `slot ${i}\n{\nstdll = ${join(dir, 'stdll', `libpkcs11_sw${i}.so`)}\ntokname = swtok${i}\n}\n`;
  }
  writeFileSync(join(dir, 'etc', 'opencryptoki.conf'), conf);
  execFileSync('chgrp', ['pkcs11', join(dir, 'lib')]);
  chmodSync(join(dir, 'lib'), 0o770);
  const script = [
    'set -e',
    'mount --bind "$1/etc" /etc/opencryptoki',
    'mount --bind "$1/lib" /var/lib/opencryptoki',
    'mount -t tmpfs tmpfs /run',
    'mkdir -p /run/lock/opencryptoki && chgrp pkcs11 /run/lock/opencryptoki && chmod 770 /run/lock/opencryptoki',
    'mount -t tmpfs tmpfs /dev/shm',
    '/usr/sbin/pkcsslotd',
    'echo started',
    'exec sleep 86400',
  ].join('\n');
  const holder = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    holder.stderr.on('data', (d: Buffer) => (err += d.toString()));
    holder.stdout.on('data', (d: Buffer) => d.toString().includes('started') && resolve());
    holder.on('exit', (code) => reject(new Error(`pkcsslotd did not start (exit ${code}): ${err}`)));
  });
  const pid = holder.pid!;
  const run: OpenCryptoki['run'] = (file, args, opts = {}) =>
    // --wd: entering a mount namespace otherwise leaves the child in /.
    spawnSync('nsenter', ['-t', String(pid), '-m', `--wd=${opts.cwd ?? process.cwd()}`, '--', file, ...args], {
      env: { ...process.env, ...opts.env },
      input: opts.input ?? '',
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
  return {
    dir,
    module: OPENCRYPTOKI_MODULE,
    run,
    ceremony(args, opts = {}) {
      const r = run(process.execPath, [CLI, ...args], { ...opts, env: { CEREMONY_PKCS11_MODULE: OPENCRYPTOKI_MODULE, ...opts.env } });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json: <T>() => JSON.parse(r.stdout) as T };
    },
    initToken(label, userPin, soPin) {
      const r = run(process.execPath, [ADMIN, OPENCRYPTOKI_MODULE, 'init-token', label, OPENCRYPTOKI_DEFAULT_SO_PIN, soPin, userPin]);
      if (r.status !== 0) throw new Error(`initializing openCryptoki token ${label} failed: ${r.stdout}${r.stderr}`);
    },
    stop() {
      run('sh', ['-c', 'kill $(cat /run/pkcsslotd.pid) 2>/dev/null; true']);
      holder.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
