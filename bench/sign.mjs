#!/usr/bin/env node
/**
 * `npm run bench:sign`: sign a 1 GiB CrAU payload end to end with `ceremony payload sign` on a throwaway
 * SoftHSM token (RSA-2048), versus one `sha256sum` pass over the same file, best of 3 each, in the same
 * run. Targets (issue 12): ratio ≤ 0.4, peak RSS of the ceremony process < 200 MiB, the same peak RSS for
 * a 4 GiB payload (BENCH_BYTES=4294967296) as for 1 GiB. Each run also times bench/copy-floor.mjs, the signed
 * payload's copy made by the ceremony's writer alone (no hash, token or record): the ratio no signer that
 * writes its output can go below on this machine's disk.
 * Uses the compiled CLI in dist/ (the npm script builds first). Everything lives in a temp dir that is
 * removed at the end.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'dist/ceremony/cli/main.js');
const { ManifestType, uint64 } = await import(join(ROOT, 'dist/ceremony/payload/schema.js'));

const SIZE = Number(process.env.BENCH_BYTES ?? 1024 * 1024 * 1024);
const TARGET_RATIO = 0.4;
const RUNS = 3;
const PIN = '918273';
const TIME = '/usr/bin/time';

function log(s) {
  process.stderr.write(s + '\n');
}

/** A valid unsigned CrAU payload: header, a manifest with one REPLACE operation, a SIZE-byte blob. */
function makePayload(path) {
  const blocks = Math.ceil(SIZE / 4096);
  const manifest = Buffer.from(
    ManifestType.encode({
      partition_operations: [{ type: 0, data_offset: 0, data_length: SIZE, dst_extents: [{ start_block: uint64(0), num_blocks: uint64(blocks) }] }],
      block_size: 4096,
      new_partition_info: { size: uint64(blocks * 4096) },
    }).finish(),
  );
  const header = Buffer.alloc(20);
  header.write('CrAU', 0, 'ascii');
  header.writeBigUInt64BE(1n, 4);
  header.writeBigUInt64BE(BigInt(manifest.length), 12);
  const pattern = randomBytes(8 << 20);
  const fd = openSync(path, 'wx');
  try {
    writeSync(fd, header);
    writeSync(fd, manifest);
    for (let done = 0; done < SIZE; done += pattern.length) writeSync(fd, pattern, 0, Math.min(pattern.length, SIZE - done));
  } finally {
    closeSync(fd);
  }
}

function timed(cmd, args, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 16 << 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { seconds, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'bench-sign-'));
try {
  // A throwaway SoftHSM with one RSA-2048 key, made through the CLI as an operator would.
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { ...process.env, SOFTHSM2_CONF: conf, CEREMONY_PIN: PIN };
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--pin', PIN, '--so-pin', 'so' + PIN], { env, stdio: 'ignore' });
  timed(process.execPath, [CLI, 'key', 'generate', '--token', 'pkcs11:token=bench', '--label', 'payload-bench', '--bits', '2048'], env);
  // The payload ceremony seals its record with an OpenPGP key of the token, so the timing is end to end.
  timed(process.execPath, [CLI, 'key', 'generate', '--token', 'pkcs11:token=bench', '--label', 'seal-bench', '--bits', '2048', '--openpgp-uid', 'Bench Seal <bench@example.org>'], env);
  const pub = join(dir, 'payload-bench.pub.pem');
  timed(process.execPath, [CLI, 'key', 'export', '--key', 'pkcs11:token=bench;object=payload-bench', '--out', pub], env);

  const input = join(dir, 'update.unsigned');
  const output = join(dir, 'update.signed');
  log(`writing a ${(SIZE / 2 ** 30).toFixed(2)} GiB unsigned payload in ${dir} ...`);
  makePayload(input);

  const haveTime = existsSync(TIME);
  log(`load average before the runs: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const sha = [];
  const sign = [];
  let peakKiB = 0;
  // CPU seconds (user + system) too: on a shared machine wall time swings with the load, CPU time much less.
  const FORMAT = 'maxrss_kib=%M cpu=%U+%S';
  const cpuOf = (stderr) => {
    // rounded to 10 ms, the resolution of /usr/bin/time
    const m = /cpu=([\d.]+)\+([\d.]+)/.exec(stderr);
    return m ? Math.round((Number(m[1]) + Number(m[2])) * 100) / 100 : null;
  };
  const shaCpu = [];
  const signCpu = [];
  // The floor: the same copy made by the ceremony's own writer with nothing else (bench/copy-floor.mjs).
  const copy = [];
  const copied = join(dir, 'update.copy');
  const COPY_FLOOR = join(ROOT, 'bench/copy-floor.mjs');
  for (let i = 0; i < RUNS; i++) {
    const s = haveTime ? timed(TIME, ['-f', FORMAT, 'sha256sum', input], env) : timed('sha256sum', [input], env);
    sha.push(s.seconds);
    shaCpu.push(cpuOf(s.stderr));
    rmSync(output, { force: true });
    // --allow-network: benchmark machines are networked; --allow-unverified: the generated payload has no
    // build server signature. Both overrides are recorded like any other.
    const args = [CLI, 'payload', 'sign', '--allow-network', '--allow-unverified', '--record-dir', join(dir, 'records'), '--key', 'pkcs11:token=bench;object=payload-bench', '--out', output, input];
    const r = haveTime ? timed(TIME, ['-f', FORMAT, process.execPath, ...args], env) : timed(process.execPath, args, env);
    sign.push(r.seconds);
    signCpu.push(cpuOf(r.stderr));
    rmSync(copied, { force: true });
    copy.push(timed(process.execPath, [COPY_FLOOR, input, copied], env).seconds);
    rmSync(copied, { force: true });
    const m = /maxrss_kib=(\d+)/.exec(r.stderr);
    if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
    log(`run ${i + 1}: sha256sum ${sha.at(-1).toFixed(3)} s (cpu ${shaCpu.at(-1)} s), ceremony payload sign ${sign.at(-1).toFixed(3)} s (cpu ${signCpu.at(-1)} s), copy floor ${copy.at(-1).toFixed(3)} s`);
  }
  // The last output must be a payload update_engine accepts (not timed).
  timed(process.execPath, [CLI, 'payload', 'verify', '--public-key', pub, output], env);

  const bestSha = Math.min(...sha);
  const bestSign = Math.min(...sign);
  const ratio = bestSign / bestSha;
  const bestCopy = Math.min(...copy);
  const peakMiB = peakKiB / 1024;
  const result = {
    date: new Date().toISOString(),
    machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    node: process.version,
    payloadBytes: SIZE,
    runs: RUNS,
    sha256sumSeconds: sha,
    signSeconds: sign,
    bestSha256sumSeconds: bestSha,
    bestSignSeconds: bestSign,
    ratio,
    copyFloorSeconds: copy,
    bestCopyFloorSeconds: bestCopy,
    copyFloorRatio: bestCopy / bestSha,
    sha256sumCpuSeconds: shaCpu,
    signCpuSeconds: signCpu,
    loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
    peakRssMiB: haveTime ? Number(peakMiB.toFixed(1)) : null,
    targets: { ratio: TARGET_RATIO, peakRssMiB: 200 },
    verified: true,
  };
  console.log(JSON.stringify(result, null, 2));
  log(`best sign ${bestSign.toFixed(3)} s / best sha256sum ${bestSha.toFixed(3)} s = ratio ${ratio.toFixed(2)} (target <= ${TARGET_RATIO})`);
  log(`copy floor (the ceremony's writer copying the payload, nothing else) ${bestCopy.toFixed(3)} s = ratio ${(bestCopy / bestSha).toFixed(2)}`);
  log(haveTime ? `peak RSS of ceremony payload sign: ${peakMiB.toFixed(1)} MiB (target < 200)` : `${TIME} not found: peak RSS not measured`);
  process.exitCode = ratio <= TARGET_RATIO && (!haveTime || peakMiB < 200) ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
