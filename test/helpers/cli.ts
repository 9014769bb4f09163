/**
 * Run the real `ceremony` binary (the compiled CLI, as a user would) in a child process.
 * stdin is closed (not a terminal), so the run is unattended: PINs come from files or CEREMONY_PIN.
 */
import { spawnSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../dist/ceremony/cli/main.js', import.meta.url));
export const VECTORS = fileURLToPath(new URL('../vectors/', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = Record<string, unknown>>(): T;
}

export function runCeremony(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string | Buffer } = {}): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd ?? REPO,
    input: opts.input ?? '',
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    code: r.status ?? -1,
    stdout: r.stdout,
    stderr: r.stderr,
    json<T>() {
      return JSON.parse(r.stdout) as T;
    },
  };
}

/** Start the CLI without waiting (for kill-mid-way tests). */
export function spawnCeremony(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  return spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...opts.env }, cwd: opts.cwd ?? REPO, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Every refusal must be one `error[CODE]: sentence` line and no stack trace. */
export function expectCleanError(run: CliRun, code: string, exit: number): void {
  const problems: string[] = [];
  if (run.code !== exit) problems.push(`exit ${run.code}, expected ${exit}`);
  if (!new RegExp(`^error\\[${code}\\]: .+`, 'm').test(run.stderr)) problems.push(`no error[${code}] line`);
  if (/\n\s+at .+\(.*:\d+:\d+\)/.test(run.stderr) || /\bat (file|node):/.test(run.stderr)) problems.push('stack trace on stderr');
  if (problems.length) throw new Error(`${problems.join('; ')}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
}
