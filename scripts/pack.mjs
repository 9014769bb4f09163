#!/usr/bin/env node
// The distributable files that can be made on any machine (issue 14), byte for byte the same from the same
// commit wherever it is built:
// - the CLI and core: `npm pack` (package.json "files": dist/ceremony, docs, the SBOM). npm writes every entry
//   with a fixed mtime (1985-10-26), portable headers and gzip without a name or time;
// - the renderer: dist-app/ as a tar.gz, made with GNU tar the same way: entries sorted by name, mtime 0,
//   owner and group 0, modes normalised (umask differs between machines), gzip -n (no name, no timestamp).
// The Electron packages (AppImage, deb) need an Electron binary and are made elsewhere (README, "Releasing").
//
// usage: node scripts/pack.mjs --out DIR [--app-dir DIR]   (prints the two file names)
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

export function packageInfo(root = ROOT) {
  const { name, version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return { name, version };
}

/** `npm pack` of the CLI and core into outDir; returns the tarball's path. */
export function packCli(outDir, root = ROOT) {
  if (!existsSync(join(root, 'dist/ceremony/cli/main.js'))) throw new Error('dist/ is not built: run `npm run build` first');
  mkdirSync(outDir, { recursive: true });
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', outDir], { cwd: root, encoding: 'utf8' });
  return join(outDir, JSON.parse(out)[0].filename);
}

/** The built renderer as `<name>-app-<version>.tar.gz` in outDir, entries under `dist-app/`; returns its path. */
export function packApp(appDir, outDir, root = ROOT) {
  if (!existsSync(join(appDir, 'index.html'))) throw new Error(`${appDir} has no index.html: run \`npm run build:app\` first`);
  const { name, version } = packageInfo(root);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${name}-app-${version}.tar.gz`);
  const tar = [
    '--create',
    '--format=gnu',
    '--sort=name',
    '--mtime=@0',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mode=u=rwX,go=rX',
    '--transform=s,^\\.,dist-app,',
    '--directory',
    appDir,
    '.',
  ];
  const fd = openSync(file, 'w');
  try {
    execFileSync('sh', ['-c', 'tar "$@" | gzip -n -9', 'tar', ...tar], { stdio: ['ignore', fd, 'inherit'], env: { ...process.env, LC_ALL: 'C' } });
  } finally {
    closeSync(fd);
  }
  return file;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => (args.includes(name) ? resolve(args[args.indexOf(name) + 1]) : fallback);
  const out = opt('--out', null);
  if (!out) {
    process.stderr.write('usage: node scripts/pack.mjs --out DIR [--app-dir DIR]\n');
    process.exit(2);
  }
  const cli = packCli(out);
  const app = packApp(opt('--app-dir', join(ROOT, 'dist-app')), out);
  process.stdout.write(`${cli}\n${app}\n`);
}
