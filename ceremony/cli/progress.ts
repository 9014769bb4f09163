/**
 * The hashing progress bar of `ceremony verify` and `ceremony sign`: one line on stderr per large file, redrawn
 * in place with a carriage return, only when stderr is a terminal. A few lines of our own rather than a
 * dependency (issue 14: every runtime package is one more thing to trust on the ceremony laptop).
 */

/** Files smaller than this verify in well under a second: no progress bar. */
export const PROGRESS_MIN_BYTES = 64 * 1024 * 1024;

const MIB = 1024 * 1024;
const BAR_WIDTH = 40;
// ECMA-48 private modes, as every terminal emulator implements them: hide the cursor while drawing, show it after.
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

/** What the bar writes to: process.stderr, or a test's recorder. */
export interface ProgressStream {
  write(text: string): unknown;
}

/** `hashing FILE [████░░░░] 42% 430/1024 MiB` for `done` of `total` bytes. */
export function progressLine(file: string, done: number, total: number): string {
  const fraction = total > 0 ? Math.min(done / total, 1) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = '\u2588'.repeat(filled) + '\u2591'.repeat(BAR_WIDTH - filled);
  const doneMiB = done >= total ? Math.ceil(total / MIB) : Math.floor(done / MIB);
  return `hashing ${file} [${bar}] ${Math.floor(fraction * 100)}% ${doneMiB}/${Math.ceil(total / MIB)} MiB`;
}

export interface HashingProgress {
  onProgress(file: string, done: number, total: number): void;
  /** Ends a bar left open (a file that failed half-way), so the error lines start on a line of their own. */
  stop(): void;
}

/** One bar per file of at least PROGRESS_MIN_BYTES; undefined when stderr is not a terminal (logs stay clean). */
export function progressFor(stderrIsTTY: boolean, stream: ProgressStream = process.stderr): HashingProgress | undefined {
  if (!stderrIsTTY) return undefined;
  let current: string | null = null;
  let drawn = '';
  const end = () => {
    if (current === null) return;
    stream.write(`\n${SHOW_CURSOR}`);
    current = null;
    drawn = '';
  };
  return {
    onProgress(file, done, total) {
      if (total < PROGRESS_MIN_BYTES) return;
      if (file !== current) {
        end();
        current = file;
        stream.write(HIDE_CURSOR);
      }
      const line = progressLine(file, done, total);
      // Redraw only when the text changes: hashing reports every chunk, the bar moves every few MiB.
      if (line !== drawn) stream.write(`\r${line}`);
      drawn = line;
      if (done >= total) end();
    },
    stop: end,
  };
}
