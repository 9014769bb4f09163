#!/usr/bin/env node
/**
 * `npm run bench:verify` (issue 3): a 1 GiB release file with a detached signature and a clearsigned Flatcar
 * DIGESTS, made with GnuPG in a temporary GNUPGHOME; `ceremony verify` timed against the pipeline that checks the
 * same things by hand (`gpg --verify` of both, then `md5sum -c`, `sha1sum -c`, `sha512sum -c`), best of 3 each,
 * alternating, in the same run. Prints the ratio and the peak RSS of `ceremony verify`.
 * Targets: ratio ≤ 0.5, peak RSS < 200 MiB. Set BENCH_VERIFY_MIB to change the size (default 1024).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MIB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_VERIFY_MIB ?? 1024);
const RUNS = 3;
const CLI = fileURLToPath(new URL('../dist/ceremony/cli/main.js', import.meta.url));
const TIME = '/usr/bin/time';

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * MIB, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r;
}

/**
 * Run under GNU time: wall seconds, CPU seconds (user + system, children included) and peak RSS (KiB) of the
 * largest process (for ceremony: the one process, worker threads included).
 */
function timed(cmd, args, env) {
  const r = spawnSync(TIME, ['-f', '%e %U %S %M', cmd, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * MIB });
  const last = r.stderr.trim().split('\n').pop();
  const [secs, user, sys, kib] = last.split(' ').map(Number);
  return { code: r.status, secs, cpu: user + sys, rssMiB: kib / 1024, stdout: r.stdout, stderr: r.stderr };
}

if (!existsSync(CLI)) {
  console.error('dist/ is missing: run `npm run bench:verify` (it builds first)');
  process.exit(2);
}
if (!existsSync(TIME)) {
  console.error(`${TIME} (GNU time) is needed to measure peak RSS`);
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'bench-verify-'));
const home = join(dir, 'gnupg');
sh('mkdir', ['-m', '700', home]);
const gpg = (args, input) => sh('gpg', ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { input });

try {
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores, node ${process.version}`);
  console.log(`making a ${SIZE_MIB} MiB file, an RSA-4096 build key with a signing subkey, its signature and DIGESTS ...`);
  const file = join(dir, 'flatcar_production_image.bin');
  const block = randomBytes(4 * MIB);
  const fd = openSync(file, 'w');
  for (let i = 0; i < SIZE_MIB / 4; i++) {
    block.writeUInt32LE(i, 0); // every block differs
    writeSync(fd, block);
  }
  closeSync(fd);

  gpg(['--quick-gen-key', 'Bench Build Server <bench@example.invalid>', 'rsa4096', 'cert', '1y']);
  const fpr = gpg(['--with-colons', '--list-keys', 'bench@example.invalid']).stdout.split('\n').find((l) => l.startsWith('fpr:')).split(':')[9];
  gpg(['--quick-add-key', fpr, 'rsa4096', 'sign', '1y']);
  const cert = join(dir, 'build-server.asc');
  writeFileSync(cert, gpg(['--armor', '--export', fpr]).stdout);
  // Flatcar's build signs with SHA-512 (see test/vectors/digests/version.txt.sig: digest algo 10).
  gpg(['--digest-algo', 'SHA512', '--output', `${file}.sig`, '--detach-sign', file]);

  const hashes = { md5: createHash('md5'), sha1: createHash('sha1'), sha512: createHash('sha512') };
  const rfd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(4 * MIB);
  for (;;) {
    const n = readSync(rfd, buf, 0, buf.length, null);
    if (n === 0) break;
    for (const h of Object.values(hashes)) h.update(buf.subarray(0, n));
  }
  closeSync(rfd);
  let digests = '';
  for (const [alg, h] of Object.entries(hashes)) digests += `# ${alg.toUpperCase()} HASH\n${h.digest('hex')}  flatcar_production_image.bin\n`;
  writeFileSync(`${file}.DIGESTS`, digests);
  gpg(['--digest-algo', 'SHA512', '--output', `${file}.DIGESTS.asc`, '--clearsign', `${file}.DIGESTS`]);
  rmSync(`${file}.DIGESTS`); // ceremony takes the clearsigned one; the pipeline below reads the same block

  // The pipeline a maintainer runs by hand today: five reads of the file.
  const pipeline = [
    `gpg --homedir '${home}' --batch --verify '${file}.sig' '${file}'`,
    `gpg --homedir '${home}' --batch --verify '${file}.DIGESTS.asc'`,
    ...['md5', 'sha1', 'sha512'].map(
      (alg) => `grep -A1 '^# ${alg.toUpperCase()} HASH' '${file}.DIGESTS.asc' | grep -v '^#' | (cd '${dir}' && ${alg}sum -c --quiet -)`,
    ),
  ].join(' && ');

  sh('cat', [file], { stdio: ['ignore', 'ignore', 'ignore'] }); // both sides start with the file in the page cache

  const ceremonyRuns = [];
  const pipelineRuns = [];
  for (let i = 0; i < RUNS; i++) {
    const c = timed(process.execPath, [CLI, 'verify', '--trusted-key', cert, file]);
    if (c.code !== 0) throw new Error(`ceremony verify failed:\n${c.stdout}\n${c.stderr}`);
    ceremonyRuns.push(c);
    const p = timed('bash', ['-c', pipeline]);
    if (p.code !== 0) throw new Error(`pipeline failed:\n${p.stderr}`);
    pipelineRuns.push(p);
    console.log(
      `run ${i + 1}: ceremony verify ${c.secs.toFixed(2)} s (CPU ${c.cpu.toFixed(2)} s, peak RSS ${c.rssMiB.toFixed(0)} MiB), ` +
        `gpg+md5sum+sha1sum+sha512sum ${p.secs.toFixed(2)} s (CPU ${p.cpu.toFixed(2)} s)`,
    );
  }
  const best = (runs) => Math.min(...runs.map((r) => r.secs));
  const bc = best(ceremonyRuns);
  const bp = best(pipelineRuns);
  const rss = Math.max(...ceremonyRuns.map((r) => r.rssMiB));
  const ratio = bc / bp;
  console.log('');
  const cpuC = Math.min(...ceremonyRuns.map((r) => r.cpu));
  const cpuP = Math.min(...pipelineRuns.map((r) => r.cpu));
  const load = loadavg()[0].toFixed(1);
  console.log(`| size | ceremony verify (best of ${RUNS}) | gpg --verify ×2 + md5sum/sha1sum/sha512sum -c (best of ${RUNS}) | ratio | CPU s ceremony / pipeline | peak RSS (ceremony) | load avg |`);
  console.log('|---|---|---|---|---|---|---|');
  console.log(`| ${SIZE_MIB} MiB | ${bc.toFixed(2)} s | ${bp.toFixed(2)} s | ${ratio.toFixed(2)} | ${cpuC.toFixed(2)} / ${cpuP.toFixed(2)} | ${rss.toFixed(0)} MiB | ${load} |`);
  console.log('');
  console.log(`ratio ${ratio.toFixed(2)} (target ≤ 0.5: ${ratio <= 0.5 ? 'met' : 'NOT met'}), peak RSS ${rss.toFixed(0)} MiB (target < 200 MiB: ${rss < 200 ? 'met' : 'NOT met'})`);
} finally {
  spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
}
