/**
 * What ships is what the code loads (issue 14). electron-builder packs package.json "dependencies" into the app,
 * npm installs them with the CLI: every package the core and the main process import must be there, and
 * nothing else. The renderer's packages are bundled by Vite, so they are build-time (devDependencies).
 * Also: electron-builder.yml's `copyright` is a copyright line, not a licence.
 */
import { builtinModules } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|cts|tsx)$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => join(ROOT, dir, f));
}

/** Package names a file loads at run time: static and dynamic imports and require(), not `import type`. */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [
    ...[...text.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?'([^']+)'/gm)].map((m) => m[1]!),
    ...[...text.matchAll(/\b(?:require|import)\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!),
  ];
  return specs.filter((s) => !s.startsWith('.')).map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

const isBuiltin = (name: string) => name.startsWith('node:') || builtinModules.includes(name);

describe('runtime dependencies', () => {
  const loaded = new Set([...sources('ceremony'), ...sources('main')].flatMap(runtimeImports).filter((n) => !isBuiltin(n)));

  it('every package the core and the main process import is a runtime dependency (electron is the runtime itself)', () => {
    expect(loaded.size).toBeGreaterThan(3);
    for (const name of loaded) if (name !== 'electron') expect(Object.keys(pkg.dependencies), name).toContain(name);
  });

  it('every runtime dependency is imported by the core or the main process (none kept for nothing)', () => {
    for (const name of Object.keys(pkg.dependencies)) expect([...loaded], name).toContain(name);
  });

  it('the renderer imports only build-time packages, which Vite bundles into dist-app (React among them)', () => {
    const renderer = new Set(sources('app/src').flatMap(runtimeImports));
    expect(renderer).toContain('react');
    for (const name of renderer) {
      expect(Object.keys(pkg.devDependencies), name).toContain(name);
      expect(Object.keys(pkg.dependencies), name).not.toContain(name);
    }
  });

  it('electron and electron-builder are build-time dependencies, as electron-builder requires', () => {
    expect(Object.keys(pkg.devDependencies)).toEqual(expect.arrayContaining(['electron', 'electron-builder']));
  });
});

describe('electron-builder.yml', () => {
  it('copyright is a copyright line (shown in the app and the deb), not a licence identifier', () => {
    const line = /^copyright:\s*(.+)$/m.exec(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8'))?.[1] ?? '';
    expect(line).toMatch(/^Copyright (©|\(c\)) \d{4}(-\d{4})? \S/);
    expect(line).not.toMatch(/Apache|MIT|GPL|BSD|License/i);
  });
});
