/**
 * The release bundle (issue 14): scripts/release-bundle.mjs makes the npm pack tarball, the renderer tarball and
 * the SBOM, their Flatcar DIGESTS, has a stand-in build server sign them, and signs them with `ceremony sign` on
 * a throwaway SoftHSM token. Here the result is checked as a user would: `ceremony verify` with the release
 * certificate pinned, `gpg --verify` of every signature, the ceremony record audited; and a one-byte change to
 * any file of the bundle is refused by both.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCeremony } from '../../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../../helpers/gpg.js';
import { parseDigests } from '../../../ceremony/digests/parse.js';
import { createHash } from 'node:crypto';

const { name, version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };
const ARTIFACTS = [`${name}-${version}.tgz`, `${name}-app-${version}.tar.gz`, `${name}-${version}.cdx.json`];
const DIGESTS = `${name}-${version}.DIGESTS`;

let work: string;
let bundle: string;
let made: { code: number | null; stdout: string; stderr: string };
let gpg: GpgHome;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ceremony-release-test-'));
  // The renderer is built into the test's own folder: the repository's dist-app/ belongs to the e2e tests.
  const vite = spawnSync(process.execPath, [join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'app/vite.config.ts', '--outDir', join(work, 'app'), '--emptyOutDir', '--logLevel', 'error'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  expect(vite.status, vite.stderr).toBe(0);
  bundle = join(work, 'bundle');
  made = spawnSync(process.execPath, [join(REPO, 'scripts/release-bundle.mjs'), '--out', bundle, '--app-dir', join(work, 'app')], { cwd: REPO, encoding: 'utf8' });
  gpg = makeGpgHome();
  if (made.status === 0) gpg.importKey(join(bundle, 'release-key.asc'));
}, 600_000);

afterAll(() => {
  gpg?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** `ceremony verify` of the three artifacts in DIR against DIR's DIGESTS, the release certificate pinned. */
function verifyIn(dir: string) {
  return runCeremony(['verify', '--trusted-key', join(bundle, 'release-key.asc'), '--digests', join(dir, DIGESTS), ...ARTIFACTS.map((a) => join(dir, a))]);
}

/** A copy of the bundle's top level with byte `at` of FILE flipped. */
function tampered(file: string): string {
  const dir = mkdtempSync(join(work, 'tampered-'));
  for (const f of readdirSync(bundle, { withFileTypes: true })) if (f.isFile()) copyFileSync(join(bundle, f.name), join(dir, f.name));
  const bytes = readFileSync(join(dir, file));
  bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
  writeFileSync(join(dir, file), bytes);
  return dir;
}

describe('npm run release:bundle', () => {
  it('makes the bundle: artifacts, DIGESTS, a signature of each by the release key, its certificate', () => {
    expect(made.status, made.stderr + made.stdout).toBe(0);
    const files = readdirSync(bundle).sort();
    for (const f of [...ARTIFACTS, DIGESTS]) expect(files).toEqual(expect.arrayContaining([f, `${f}.sig`]));
    expect(files).toContain('release-key.asc');
    expect(made.stdout).toMatch(/ceremony verify VERIFIED 3 artifacts/);
  });

  it("writes Flatcar's DIGESTS layout (MD5, SHA1, SHA512 sections) with the artifacts' real digests", () => {
    const text = readFileSync(join(bundle, DIGESTS), 'utf8');
    expect(text.split('\n').filter((l) => l.startsWith('#'))).toEqual(['# MD5 HASH', '# SHA1 HASH', '# SHA512 HASH']);
    const entries = parseDigests(text, DIGESTS);
    expect(entries).toHaveLength(9);
    for (const e of entries) expect(e.hex).toBe(createHash(e.algorithm).update(readFileSync(join(bundle, e.name))).digest('hex'));
  });

  it('ceremony verify accepts every artifact against the signed DIGESTS with only the release certificate pinned', () => {
    const r = verifyIn(bundle);
    expect(r.code, r.stderr).toBe(0);
    for (const a of ARTIFACTS) expect(r.stdout).toContain(`VERIFIED  ${join(bundle, a)}`);
  });

  it('gpg --verify accepts each signature (artifacts and DIGESTS) as made by the release key', () => {
    const fingerprint = gpg.colons().find((row) => row[0] === 'fpr')![9];
    for (const f of [...ARTIFACTS, DIGESTS]) {
      const r = gpg.verify(join(bundle, `${f}.sig`), join(bundle, f));
      expect(r.code, r.stderr).toBe(0);
      expect(r.status.some((s) => s.startsWith(`VALIDSIG ${fingerprint}`))).toBe(true);
    }
  });

  it('the ceremony record of the release is sealed by the release key and audits clean', () => {
    const records = join(bundle, 'ceremony', 'records');
    const [record] = readdirSync(records).filter((d) => d.includes('-sign-'));
    const r = runCeremony(['audit', 'verify', join(records, record!), '--trusted-key', join(bundle, 'release-key.asc')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/artifact-absent/);
  });

  it('the npm tarball holds the compiled CLI and core, its licence, and no sources, source maps or tests', () => {
    const list = spawnSync('tar', ['-tzf', join(bundle, ARTIFACTS[0]!)], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(list).toContain('package/dist/ceremony/cli/main.js');
    expect(list).toContain('package/sbom.cdx.json');
    expect(list).toContain('package/LICENSE');
    expect(list.filter((f) => /\.(ts|map)$|^package\/(test|app|main)\//.test(f))).toEqual([]);
    const app = spawnSync('tar', ['-tzvf', join(bundle, ARTIFACTS[1]!)], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(app.some((l) => / dist-app\/index\.html$/.test(l))).toBe(true);
    expect(app.every((l) => l.includes(' 0/0 ') && l.includes('1970-01-01'))).toBe(true);
  });

  for (const file of [...ARTIFACTS, DIGESTS]) {
    it(`one-byte change to ${file.replace(version, 'VERSION')}: ceremony verify and gpg refuse it`, () => {
      const dir = tampered(file);
      const r = verifyIn(dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(file === DIGESTS ? /^error\[SIGNATURE_\w+\]/m : new RegExp(`^error\\[(DIGEST|SIGNATURE)_\\w+\\]: ${join(dir, file).replace(/[.]/g, '\\.')}`, 'm'));
      const g = gpg.verify(join(dir, `${file}.sig`), join(dir, file));
      expect(g.code).not.toBe(0);
      expect(g.status.some((s) => s.startsWith('BADSIG'))).toBe(true);
      // The untouched artifacts still verify on their own signatures (the refusal is about the changed file).
      for (const other of ARTIFACTS.filter((a) => a !== file)) {
        expect(gpg.verify(join(dir, `${other}.sig`), join(dir, other)).code, basename(other)).toBe(0);
      }
    });
  }
});
