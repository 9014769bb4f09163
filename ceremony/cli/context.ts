/**
 * What every command gets: its output, the environment, the clock and stdin, so that tests and the
 * Electron main process can drive the same commands without a real terminal.
 */
import type { Output } from './output.js';

export interface CliContext {
  out: Output;
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadStream;
  now: () => Date;
  cwd: string;
}
