/** Build the renderer (vite) once before the e2e suite; `npm run test:e2e` has already run tsc. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'app/vite.config.ts', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  if (!existsSync(`${root}/dist/main/worker/entry.js`)) {
    throw new Error('dist/main is missing: run `npm run build` first (npm run test:e2e does)');
  }
}
