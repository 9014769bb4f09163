#!/usr/bin/env node
// `npm run release:bundle` (issue 14): the distributable that can be made on any machine, released with this
// tool's own ceremony, as Flatcar releases its images:
//   1. the artifacts: the npm pack tarball of the CLI and core, the renderer tarball (scripts/pack.mjs, both
//      reproducible) and the SBOM;
//   2. their Flatcar-style DIGESTS (`# MD5 HASH` / `# SHA1 HASH` / `# SHA512 HASH`, `<hex>  <name>`);
//   3. a stand-in build server (ceremony/release/demo-build-server: a throwaway OpenPGP key) signs each artifact
//      and the DIGESTS, with a signed FILE.DIGESTS beside each, as Flatcar's build does;
//   4. `ceremony sign` on a throwaway SoftHSM token, with a key from `ceremony key generate --openpgp-uid`,
//      verifies all of that against the build server's pinned certificate and signs each file on the HSM;
//   5. the bundle is checked as a user would: `ceremony verify` with the exported certificate pinned, and
//      `gpg --verify` of every signature in an empty GnuPG home.
// Layout: OUT/ the artifacts, the DIGESTS, NAME.sig for each, release-key.asc; OUT/ceremony/ the ceremony's
// inputs as the build server handed them over (with its signatures and certificate) and its sealed record.
// The keys are throwaway: a real release runs step 4 on the air-gapped laptop with the release key on the HSM
// (README, "Releasing"). The PINs are random and live in this process; the token is initialized through the
// core, and `ceremony` gets the user PIN only through CEREMONY_PIN (the documented automation path), never
// argv or a file.
//
// usage: node scripts/release-bundle.mjs --out DIR [--app-dir DIR]   (DIR must not exist or be empty)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageInfo, packApp, packCli } from './pack.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'dist/ceremony/cli/main.js');
const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/** A refusal of the bundle: reported as one line, exit 1 (temporary tokens are removed first). */
class BundleError extends Error {}
function die(message) {
  throw new BundleError(message);
}

function say(message) {
  process.stdout.write(`release-bundle: ${message}\n`);
}

/** Run the real `ceremony` CLI as a user would; stop the bundle on any failure. */
function ceremony(args, env) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) die(`ceremony ${args[0]} ${args[1] ?? ''} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export async function makeReleaseBundle({ out, appDir }) {
  if (!existsSync(CLI)) die('dist/ is not built: run `npm run build` first');
  if (existsSync(out) && readdirSync(out).length > 0) die(`${out} is not empty; nothing is overwritten`);
  const { name, version } = packageInfo();
  const { makeDemoBuildServer, flatcarDigests } = await import(join(ROOT, 'dist/ceremony/release/demo-build-server.js'));
  const { checkAirGap } = await import(join(ROOT, 'dist/ceremony/airgap.js'));
  const { openModule, closeModule } = await import(join(ROOT, 'dist/ceremony/hsm/module.js'));
  const { findFreeSlot, initializeToken } = await import(join(ROOT, 'dist/ceremony/hsm/token.js'));

  // The ceremony's inputs stay in the bundle (ceremony/build-server/), so its record's hashes can be checked there.
  mkdirSync(out, { recursive: true });
  const server = join(out, 'ceremony', 'build-server');
  mkdirSync(server, { recursive: true });
  const hsm = mkdtempSync(join(tmpdir(), 'ceremony-release-hsm-'));
  try {
    // 1. Artifacts, made into the build server's folder, where it signs them.
    const artifacts = [packCli(server), packApp(appDir, server)];
    const sbom = join(server, `${name}-${version}.cdx.json`);
    copyFileSync(join(ROOT, 'sbom.cdx.json'), sbom);
    artifacts.push(sbom);

    // 2. DIGESTS over the three, Flatcar's layout (one DIGESTS for several files, as Flatcar's *.DIGESTS allow).
    const digests = join(server, `${name}-${version}.DIGESTS`);
    writeFileSync(digests, flatcarDigests(artifacts.map((f) => ({ name: basename(f), bytes: readFileSync(f) }))));
    const files = [...artifacts, digests];
    say(`artifacts: ${files.map((f) => basename(f)).join(', ')}`);

    // 3. The stand-in build server signs every file and a FILE.DIGESTS of each (RSA-3072: throwaway, and
    //    quick to make in JavaScript; Flatcar's is RSA-4096). Its own sample release is not part of ours.
    const bs = await makeDemoBuildServer(server, { rsaBits: 3072, alsoSign: files.map((f) => basename(f)) });
    for (const sample of bs.files.filter((f) => !files.includes(f))) {
      for (const suffix of ['', '.sig', '.DIGESTS', '.DIGESTS.asc']) rmSync(`${sample}${suffix}`, { force: true });
    }
    say(`stand-in build server ${bs.primaryFingerprint} signed them`);

    // 4. The release ceremony on a throwaway SoftHSM token; it writes OUT/NAME.sig beside the artifacts.
    mkdirSync(join(hsm, 'tokens'));
    writeFileSync(join(hsm, 'softhsm2.conf'), `directories.tokendir = ${join(hsm, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    // The token is initialized through the core (as `ceremony demo` does), so neither PIN is ever on an argv.
    const pin = Buffer.from(randomBytes(12).toString('base64url'));
    const soPin = Buffer.from(randomBytes(12).toString('base64url'));
    process.env.SOFTHSM2_CONF = join(hsm, 'softhsm2.conf');
    const mod = openModule(SOFTHSM_MODULE);
    try {
      initializeToken(mod, findFreeSlot(mod), 'release', soPin, pin);
    } finally {
      soPin.fill(0);
      closeModule();
    }
    const env = { ...process.env, CEREMONY_PKCS11_MODULE: SOFTHSM_MODULE, CEREMONY_PIN: pin.toString() };
    pin.fill(0);
    const label = `release-${version}`;
    const key = `pkcs11:token=release;object=${label}`;
    ceremony(['key', 'generate', '--token', 'pkcs11:token=release', '--label', label, '--bits', '4096', '--valid-days', '30', '--openpgp-uid', `${name} release (throwaway CI key) <release@${name}.invalid>`], env);
    const certificate = join(out, 'release-key.asc');
    ceremony(['key', 'export', '--key', key, '--format', 'openpgp', '--out', certificate], env);
    const airGap = checkAirGap();
    if (!airGap.airGapped) say(`network interfaces up (${airGap.interfacesUp.join(', ')}): --allow-network, recorded in the ceremony record`);
    ceremony(
      ['sign', '--trusted-key', bs.certificate, '--key', key, '--out-dir', out, '--record-dir', join(out, 'ceremony', 'records'), ...(airGap.airGapped ? [] : ['--allow-network']), ...files],
      env,
    );
    for (const f of files) copyFileSync(f, join(out, basename(f)));
    return { out, files: files.map((f) => join(out, basename(f))), certificate };
  } finally {
    rmSync(hsm, { recursive: true, force: true });
  }
}

/** 5. What a user does with the bundle; throws on any refusal. */
export function checkReleaseBundle({ files, certificate }) {
  const [digests, ...artifacts] = [files.at(-1), ...files.slice(0, -1)];
  const r = spawnSync(process.execPath, [CLI, 'verify', '--trusted-key', certificate, '--digests', digests, ...artifacts], { encoding: 'utf8' });
  if (r.status !== 0) die(`ceremony verify refused the bundle (exit ${r.status}):\n${r.stderr}`);
  const home = mkdtempSync(join(tmpdir(), 'ceremony-release-gpg-'));
  try {
    const gpg = (args) => spawnSync('gpg', ['--homedir', home, '--batch', '--status-fd', '1', ...args], { encoding: 'utf8' });
    if (gpg(['--import', certificate]).status !== 0) die('gpg --import of the release certificate failed');
    for (const f of files) {
      const v = gpg(['--verify', `${f}.sig`, f]);
      if (v.status !== 0 || !/\[GNUPG:\] VALIDSIG /.test(v.stdout)) die(`gpg --verify ${basename(f)}.sig refused it:\n${v.stderr}`);
    }
  } finally {
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
    rmSync(home, { recursive: true, force: true });
  }
  return r.stdout;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (flag, fallback) => (args.includes(flag) ? resolve(args[args.indexOf(flag) + 1]) : fallback);
  const out = opt('--out', null);
  if (!out) {
    process.stderr.write('usage: node scripts/release-bundle.mjs --out DIR [--app-dir DIR]\n');
    process.exit(2);
  }
  let bundle;
  try {
    bundle = await makeReleaseBundle({ out, appDir: opt('--app-dir', join(ROOT, 'dist-app')) });
    checkReleaseBundle(bundle);
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    process.stderr.write(`release-bundle: ${e.message}\n`);
    process.exit(1);
  }
  say(`${out}: ceremony verify VERIFIED ${bundle.files.length - 1} artifacts against the signed DIGESTS; gpg --verify accepted ${bundle.files.length} signatures`);
  for (const f of readdirSync(out).sort()) say(`  ${f}`);
}
