#!/usr/bin/env node
// The app's CycloneDX SBOM (issue 14): `npm run sbom` writes sbom.cdx.json, `npm run sbom:check` fails when the
// checked-in file is not what this commit's package-lock.json gives.
//
// Made by `npm sbom --sbom-format cyclonedx --package-lock-only` (npm's own generator; from the lock file, so the
// result does not depend on what happens to be installed), then:
// - kept to what ships: the runtime packages (lock entries not marked dev) and the packages Vite bundles into
//   the renderer (dist-app/), found from app/'s imports. `npm sbom --omit dev` is not used: npm 11 also drops
//   runtime packages that a dev dependency shares (tslib, string-width, … went missing);
// - every package carries its SHA-512 from the lock's `integrity` (added when npm left it out; a mismatch fails);
// - made deterministic: no serialNumber or timestamp, no tool version, the root named after package.json (npm
//   names it after the checkout's folder), components and dependencies sorted.
//
// usage: node scripts/sbom.mjs [--check] [--file PATH]
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BUNDLED_PROPERTY = 'signing-ceremony:bundled-into';
/** Code-unit order: the same on every machine, whatever its locale (localeCompare is not). */
const byCodeUnits = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

function fail(message) {
  process.stderr.write(`sbom: ${message}\n`);
  process.exit(1);
}

/** `sha512-<base64> sha1-<base64>` (SRI, as npm writes `integrity`) → CycloneDX hashes, hex. */
export function integrityToHashes(integrity) {
  const names = { sha512: 'SHA-512', sha384: 'SHA-384', sha256: 'SHA-256', sha1: 'SHA-1' };
  return integrity
    .trim()
    .split(/\s+/)
    .map((sri) => {
      const [alg, b64] = [sri.slice(0, sri.indexOf('-')), sri.slice(sri.indexOf('-') + 1)];
      if (!names[alg]) throw new Error(`unknown integrity algorithm ${alg}`);
      return { alg: names[alg], content: Buffer.from(b64, 'base64').toString('hex') };
    });
}

/** Name of the package at a lock path (`node_modules/a/node_modules/@s/b` → `@s/b`). */
function nameAt(path, entry) {
  return entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** Node's resolution over the lock's flat map: `dep` required from `from` is the nearest node_modules/dep. */
function resolveInLock(packages, from, dep) {
  for (let dir = from; ; ) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${dep}`;
    if (packages[candidate]) return candidate;
    if (!dir) return null;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up < 0 ? '' : dir.slice(0, up);
  }
}

/** Bare package names imported by the renderer's sources (app/src), which Vite bundles into dist-app/. */
export function rendererImports(appDir = join(ROOT, 'app/src')) {
  const found = new Set();
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => byCodeUnits(a.name, b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|tsx|js|jsx)$/.test(e.name)) {
        for (const m of readFileSync(p, 'utf8').matchAll(/^\s*import\s+(?!type\b)[^'"]*?['"]([^'"./][^'"]*)['"]/gm)) {
          const spec = m[1];
          found.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
        }
      }
    }
  };
  walk(appDir);
  return [...found].sort();
}

/** Lock paths of what ships: runtime packages, and the closure of the renderer's imports (bundled). */
export function shippedPackages(lock, rendererRoots) {
  const packages = lock.packages;
  const runtime = Object.keys(packages).filter((p) => p && !packages[p].dev && !packages[p].devOptional && !packages[p].link);
  const bundled = new Set();
  const queue = rendererRoots.map((name) => {
    const p = resolveInLock(packages, '', name);
    if (!p) throw new Error(`the renderer imports ${name}, which package-lock.json does not have`);
    return p;
  });
  while (queue.length) {
    const p = queue.shift();
    if (bundled.has(p)) continue;
    bundled.add(p);
    for (const dep of Object.keys({ ...packages[p].dependencies })) {
      const q = resolveInLock(packages, p, dep);
      if (q) queue.push(q);
    }
  }
  return { runtime, bundled: [...bundled].filter((p) => !runtime.includes(p)) };
}

export function makeSbom(root = ROOT) {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const npmBom = JSON.parse(
    execFileSync('npm', ['sbom', '--sbom-format', 'cyclonedx', '--package-lock-only'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }),
  );
  const { runtime, bundled } = shippedPackages(lock, rendererImports(join(root, 'app/src')));
  const byRef = new Map(npmBom.components.map((c) => [c['bom-ref'], c]));
  const rootRef = npmBom.metadata.component['bom-ref'];

  const components = [];
  for (const path of [...runtime, ...bundled]) {
    const entry = lock.packages[path];
    const ref = `${nameAt(path, entry)}@${entry.version}`;
    const c = byRef.get(ref);
    if (!c) fail(`npm sbom left out ${ref} (${path})`);
    if (components.some((k) => k['bom-ref'] === ref)) continue;
    if (!entry.integrity) fail(`${path} has no integrity in package-lock.json`);
    const fromLock = integrityToHashes(entry.integrity);
    for (const h of c.hashes ?? []) {
      const mine = fromLock.find((l) => l.alg === h.alg);
      if (mine && mine.content !== h.content) fail(`${ref}: npm's ${h.alg} differs from package-lock.json's integrity`);
    }
    const properties = (c.properties ?? []).filter((p) => p.name !== 'cdx:npm:package:development');
    // npm calls a dev package "optional"; a bundled one ships inside the renderer, so it is required.
    const shipped = bundled.includes(path) ? { scope: 'required' } : {};
    if (bundled.includes(path)) properties.push({ name: BUNDLED_PROPERTY, value: 'dist-app' });
    components.push({ ...c, ...shipped, properties, hashes: fromLock });
  }
  components.sort((a, b) => byCodeUnits(a['bom-ref'], b['bom-ref']));

  const kept = new Set([rootRef, ...components.map((c) => c['bom-ref'])]);
  const dependencies = npmBom.dependencies
    .filter((d) => kept.has(d.ref))
    .map((d) => ({ ref: d.ref, dependsOn: d.dependsOn.filter((r) => kept.has(r)).sort() }))
    .sort((a, b) => byCodeUnits(a.ref, b.ref));

  const { serialNumber: _serial, ...rest } = npmBom;
  const { timestamp: _time, ...metadata } = npmBom.metadata;
  return {
    ...rest,
    metadata: {
      ...metadata,
      tools: metadata.tools.map(({ version: _v, ...tool }) => tool),
      component: { ...metadata.component, name: pkg.name },
    },
    components,
    dependencies,
  };
}

export function serialize(bom) {
  return `${JSON.stringify(bom, null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const fileAt = args.indexOf('--file');
  const file = fileAt >= 0 ? args[fileAt + 1] : join(ROOT, 'sbom.cdx.json');
  const text = serialize(makeSbom());
  if (args.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      fail(`${file} is missing: run \`npm run sbom\` and commit it`);
    }
    if (current !== text) fail(`${file} is stale (package-lock.json or the renderer's imports changed): run \`npm run sbom\` and commit it`);
    process.stdout.write(`sbom: ${file} is current (${JSON.parse(text).components.length} packages)\n`);
  } else {
    writeFileSync(file, text);
    process.stdout.write(`sbom: wrote ${file} (${JSON.parse(text).components.length} packages)\n`);
  }
}
