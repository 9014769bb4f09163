/**
 * Run the real `ceremony` binary under a real pseudo-terminal (test/helpers/pty-driver.py, Python's pty
 * module: no new dependency), answering its questions as a person would, and return everything that
 * reached the screen: echoed keys included, so a secret that was echoed is found in `screen`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CLI, REPO } from './cli.js';

const DRIVER = fileURLToPath(new URL('./pty-driver.py', import.meta.url));

export interface PtyStep {
  /** A regular expression (Python syntax) to wait for on the screen, after the previous match. */
  expect: string;
  /** What to type once it appears ("\r" is Enter; "{1}" is the match's first group). */
  send: string;
  /** Type it only once the terminal's echo is off (a PIN, a share). */
  secret?: boolean;
  /** Instead of typing, kill the program (SIGKILL) once `expect` appears: a ceremony killed there. */
  kill?: boolean;
}

export interface PtyRun {
  screen: string;
  code: number;
  /** How many steps were answered. */
  answered: number;
}

export function runUnderPty(args: string[], steps: PtyStep[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): PtyRun {
  const env = { ...process.env, TERM: 'xterm', ...opts.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const r = spawnSync('python3', [DRIVER], {
    input: JSON.stringify({ argv: [process.execPath, CLI, ...args], cwd: opts.cwd ?? REPO, env, steps }),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`the pty driver failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as PtyRun;
}
