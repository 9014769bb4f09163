/**
 * A child process that must end by itself: the special-file tests run the code under attack in a child so
 * that a regression that blocks (open(2) on a FIFO, a read of /dev/zero, a synchronous read that never
 * returns) fails the test instead of hanging the test runner. The child is killed after `killAfterMs` as a
 * safety net only; nothing is measured, and a killed child reports `code: null`, which no test accepts.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CLI, REPO } from './cli.js';

export interface BoundedRun {
  code: number | null;
  killed: boolean;
  stdout: string;
  stderr: string;
}

export const LYING_PATHS = fileURLToPath(new URL('./lying-paths.mjs', import.meta.url));

export function runBounded(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; killAfterMs?: number } = {}): Promise<BoundedRun> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd ?? REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, opts.killAfterMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: killed ? null : code, killed, stdout, stderr });
    });
  });
}

/**
 * The compiled `ceremony` CLI in a bounded child. `lyingPaths`: paths whose every path-level check
 * (stat, lstat, exists, access) sees the regular file `decoy` — a swap between check and open.
 * `absentPaths`: paths those checks see as absent — a file planted there after the check.
 */
export function runCeremonyBounded(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; lyingPaths?: string[]; decoy?: string; absentPaths?: string[] } = {}): Promise<BoundedRun> {
  const lying = opts.lyingPaths !== undefined || opts.absentPaths !== undefined;
  const preload = lying ? ['--import', pathToFileURL(LYING_PATHS).href] : [];
  const env = lying
    ? { ...opts.env, CEREMONY_TEST_LYING_PATHS: JSON.stringify(opts.lyingPaths ?? []), CEREMONY_TEST_ABSENT_PATHS: JSON.stringify(opts.absentPaths ?? []), CEREMONY_TEST_DECOY: opts.decoy }
    : opts.env;
  return runBounded([...preload, CLI, ...args], { env, cwd: opts.cwd });
}

/**
 * An ES module snippet against the compiled code (dist/) in a bounded child; `dist(path)` gives the URL of a
 * compiled module. The snippet prints what the test checks. Same `lyingPaths` as runCeremonyBounded.
 */
export function runModuleBounded(code: string, opts: { env?: NodeJS.ProcessEnv; lyingPaths?: string[]; decoy?: string } = {}): Promise<BoundedRun> {
  const preload = opts.lyingPaths ? ['--import', pathToFileURL(LYING_PATHS).href] : [];
  const env = opts.lyingPaths ? { ...opts.env, CEREMONY_TEST_LYING_PATHS: JSON.stringify(opts.lyingPaths), CEREMONY_TEST_DECOY: opts.decoy } : opts.env;
  return runBounded([...preload, '--input-type=module', '-e', code], { env });
}

export function dist(path: string): string {
  return pathToFileURL(fileURLToPath(new URL(`../../dist/${path}`, import.meta.url))).href;
}
