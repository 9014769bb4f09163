/**
 * What the CLI says, and where: results on stdout (text, or one JSON document with --json), warnings
 * and errors on stderr as `warning: ...` / `error[CODE]: sentence`. Never a stack trace.
 */
import { CeremonyError } from '../errors.js';

export interface Output {
  readonly json: boolean;
  /** A line of human output on stdout (suppressed with --json). */
  line(text?: string): void;
  /** A ceremony step as it happens: `[step] detail` on stderr, so stdout stays clean for results. */
  step(name: string, detail: string): void;
  warn(message: string): void;
  /** The machine-readable result (printed with --json only). */
  result(value: unknown): void;
}

export function makeOutput(json: boolean, stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): Output {
  return {
    json,
    line(text = '') {
      if (!json) stdout.write(text + '\n');
    },
    step(name, detail) {
      stderr.write(`[${name}] ${detail}\n`);
    },
    warn(message) {
      stderr.write(`warning: ${message}\n`);
    },
    result(value) {
      if (json) stdout.write(JSON.stringify(value, jsonReplacer, 2) + '\n');
    },
  };
}

/** Buffers print as hex, Dates as ISO strings. */
export function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (Buffer.isBuffer(raw) || raw instanceof Uint8Array) return Buffer.from(raw).toString('hex');
  if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer') {
    return Buffer.from((value as { data: number[] }).data).toString('hex');
  }
  return value;
}

export function reportError(e: CeremonyError, json: boolean, stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): void {
  stderr.write(e.toLine() + '\n');
  if (json) stdout.write(JSON.stringify({ ok: false, error: e.toJSON() }, jsonReplacer, 2) + '\n');
}
