/**
 * Compile once before the suite so CLI tests run the real binary. `npm test` builds first and fails on
 * type errors; here we only need the emitted JavaScript.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../', import.meta.url));
  spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'ignore' });
}
