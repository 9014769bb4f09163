/**
 * sbom.cdx.json (issue 14): every package the app ships, with its version and the SHA-512 npm installs it by;
 * nothing that varies between runs or machines; and `npm run sbom:check` refuses a stale file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/sbom.mjs');

interface Component {
  'bom-ref': string;
  name: string;
  version: string;
  scope: string;
  purl: string;
  hashes: { alg: string; content: string }[];
  properties: { name: string; value: string }[];
}
interface Bom {
  bomFormat: string;
  specVersion: string;
  serialNumber?: string;
  metadata: { timestamp?: string; component: { name: string; version: string } };
  components: Component[];
  dependencies: { ref: string; dependsOn: string[] }[];
}
interface LockEntry {
  version: string;
  integrity?: string;
  dev?: boolean;
  devOptional?: boolean;
  name?: string;
}

const bom = JSON.parse(readFileSync(join(ROOT, 'sbom.cdx.json'), 'utf8')) as Bom;
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };
const runtime = Object.entries(lock.packages).filter(([path, e]) => path !== '' && !e.dev && !e.devOptional);
const nameOf = (path: string, e: LockEntry) => e.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);

const work = mkdtempSync(join(tmpdir(), 'ceremony-sbom-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function check(file: string) {
  return spawnSync(process.execPath, [SCRIPT, '--check', '--file', file], { cwd: ROOT, encoding: 'utf8' });
}

describe('the SBOM', () => {
  it('is CycloneDX, named after the package, with nothing that changes from run to run', () => {
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(bom.metadata.component).toMatchObject({ name: pkg.name, version: pkg.version });
    expect(bom.serialNumber).toBeUndefined();
    expect(bom.metadata.timestamp).toBeUndefined();
  });

  it('lists every runtime package of package-lock.json with its version and the SHA-512 of its integrity', () => {
    expect(runtime.length).toBeGreaterThan(0);
    for (const [path, e] of runtime) {
      const c = bom.components.find((k) => k.name === nameOf(path, e) && k.version === e.version);
      expect(c, `${path} is missing`).toBeDefined();
      const sri = e.integrity!.split(/\s+/).find((s) => s.startsWith('sha512-'))!;
      expect(c!.hashes).toContainEqual({ alg: 'SHA-512', content: Buffer.from(sri.slice(7), 'base64').toString('hex') });
      expect(c!.purl).toBe(`pkg:npm/${c!.name.replace('@', '%40')}@${e.version}`);
    }
  });

  it('each direct runtime dependency is one the root depends on', () => {
    const root = bom.dependencies.find((d) => d.ref === `${pkg.name}@${pkg.version}`)!;
    for (const name of Object.keys(pkg.dependencies)) expect(root.dependsOn.some((r) => r.startsWith(`${name}@`))).toBe(true);
  });

  it('also lists what Vite bundles into the renderer (React), marked as such, though it is a build-time dependency', () => {
    for (const name of ['react', 'react-dom', 'scheduler']) {
      const c = bom.components.find((k) => k.name === name);
      expect(c?.properties).toContainEqual({ name: 'signing-ceremony:bundled-into', value: 'dist-app' });
      expect(c?.scope).toBe('required');
    }
    expect(Object.keys(pkg.dependencies)).not.toContain('react');
  });

  it('lists no development-only package that does not ship (eslint, vitest, electron-builder…)', () => {
    const names = bom.components.map((c) => c.name);
    for (const dev of ['eslint', 'vitest', 'electron-builder', 'electron', 'typescript', 'vite']) expect(names).not.toContain(dev);
  });

  it('npm run sbom:check accepts the checked-in file (it is what this commit’s lock gives)', () => {
    const r = check(join(ROOT, 'sbom.cdx.json'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('stale SBOM: sbom:check fails when one version differs from the lock', () => {
    const stale = structuredClone(bom);
    stale.components[0]!.version += '-old';
    const file = join(work, 'stale.cdx.json');
    writeFileSync(file, `${JSON.stringify(stale, null, 2)}\n`);
    const r = check(file);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/is stale/);
  });
});
