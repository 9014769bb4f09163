/**
 * Where PINs come from (DESIGN §4): a no-echo prompt on a terminal, `--pin-file`, the URI's
 * `pin-source=file:`, or `CEREMONY_PIN` for automation. Never a command-line value. PINs are carried
 * in Buffers the caller wipes; they are never logged.
 */
import { CeremonyError, isCeremonyError } from '../errors.js';
import { readInputFile } from '../files.js';
import type { Pkcs11Uri } from './uri.js';

export interface PinSource {
  /** What the audit log may say about where the PIN came from (never the PIN). */
  readonly kind: 'prompt' | 'file' | 'env' | 'derived';
  /** Asking again can give a different answer (a person typing). */
  readonly interactive: boolean;
  read(prompt: string): Promise<Buffer>;
}

const MAX_PIN_LENGTH = 256;

function trimNewline(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0x0a || b[end - 1] === 0x0d)) end--;
  const out = Buffer.from(b.subarray(0, end));
  b.fill(0);
  return out;
}

export function filePinSource(path: string): PinSource {
  return {
    kind: 'file',
    interactive: false,
    async read() {
      // One non-blocking open, checked and read on its descriptor (files.ts): a FIFO, a link to /dev/zero
      // or a file swapped or grown after a check is refused, never waited on or read without limit.
      let raw: Buffer;
      try {
        raw = readInputFile(path, 'PIN file', MAX_PIN_LENGTH);
      } catch (e) {
        const tooLarge = isCeremonyError(e, 'INPUT_MALFORMED');
        throw new CeremonyError('PIN_UNAVAILABLE', tooLarge ? `the PIN file ${path} is too large to hold a PIN` : `the PIN file ${path} cannot be read (it must be a regular file)`, { cause: e });
      }
      return trimNewline(raw);
    },
  };
}

export function envPinSource(env: NodeJS.ProcessEnv = process.env): PinSource {
  return {
    kind: 'env',
    interactive: false,
    async read() {
      return Buffer.from(env.CEREMONY_PIN ?? '', 'utf8');
    },
  };
}

/** A no-echo prompt on the controlling terminal (stdin must be a TTY). */
export function promptPinSource(
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stderr,
): PinSource {
  return {
    kind: 'prompt',
    interactive: true,
    read(prompt: string) {
      return readHidden(prompt, input, output);
    },
  };
}

export function readHidden(prompt: string, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: number[] = [];
    output.write(prompt);
    const wasRaw = input.isRaw;
    input.setRawMode?.(true);
    input.resume();
    const done = (err?: CeremonyError) => {
      input.removeListener('data', onData);
      input.setRawMode?.(wasRaw ?? false);
      input.pause();
      output.write('\n');
      if (err) {
        chunks.fill(0);
        reject(err);
      } else {
        const b = Buffer.from(chunks);
        chunks.fill(0);
        resolve(b);
      }
    };
    const onData = (data: Buffer) => {
      for (const byte of data) {
        if (byte === 0x03) return done(new CeremonyError('CANCELLED', 'cancelled at the prompt'));
        if (byte === 0x0d || byte === 0x0a || byte === 0x04) return done();
        if (byte === 0x7f || byte === 0x08) chunks.pop();
        else if (chunks.length < MAX_PIN_LENGTH) chunks.push(byte);
      }
      data.fill(0);
    };
    input.on('data', onData);
  });
}

export interface PinSourceChoice {
  uri?: Pkcs11Uri;
  pinFile?: string;
  env?: NodeJS.ProcessEnv;
  stdin?: NodeJS.ReadStream;
}

/**
 * Pick the PIN source: the URI's pin-source, then --pin-file, then CEREMONY_PIN, then a prompt when
 * stdin is a terminal. Without any of them an unattended run cannot log in, and says so.
 */
export function choosePinSource(choice: PinSourceChoice): PinSource {
  const env = choice.env ?? process.env;
  if (choice.uri?.pinSource) return filePinSource(choice.uri.pinSource.slice('file:'.length));
  if (choice.pinFile) return filePinSource(choice.pinFile);
  if (env.CEREMONY_PIN !== undefined) return envPinSource(env);
  const stdin = choice.stdin ?? process.stdin;
  if (stdin.isTTY) return promptPinSource(stdin);
  throw new CeremonyError(
    'PIN_UNAVAILABLE',
    'no PIN source: this run has no terminal to prompt on, so give --pin-file, pin-source=file: in the URI, or CEREMONY_PIN',
  );
}

/**
 * The signing token's current SO PIN, which `init` takes once and replaces with one derived from the
 * quorum secret (issue 10): `--so-pin-file`, then CEREMONY_SO_PIN, then a no-echo prompt. Never argv.
 */
export function chooseSoPinSource(choice: { soPinFile?: string; env?: NodeJS.ProcessEnv; stdin?: NodeJS.ReadStream }): PinSource {
  const env = choice.env ?? process.env;
  if (choice.soPinFile) return filePinSource(choice.soPinFile);
  if (env.CEREMONY_SO_PIN !== undefined) {
    return { kind: 'env', interactive: false, read: async () => Buffer.from(env.CEREMONY_SO_PIN ?? '', 'utf8') };
  }
  const stdin = choice.stdin ?? process.stdin;
  if (stdin.isTTY) return promptPinSource(stdin);
  throw new CeremonyError(
    'PIN_UNAVAILABLE',
    "init needs the signing token's current SO PIN once, to put it under the quorum: give --so-pin-file or CEREMONY_SO_PIN",
  );
}

/**
 * A PIN source that keeps, in memory only, the last PIN it gave, so a ceremony can log in again after
 * a logout it needs (an SO login on the same token, PKCS#11 v2.40 §5.6: one login state per token)
 * without asking a second time. `forget()` wipes it; call it in `finally`.
 */
export class RememberedPin implements PinSource {
  private last: Buffer | undefined;
  constructor(private readonly inner: PinSource) {}
  get kind(): PinSource['kind'] {
    return this.inner.kind;
  }
  get interactive(): boolean {
    return this.inner.interactive;
  }
  async read(prompt: string): Promise<Buffer> {
    const pin = await this.inner.read(prompt);
    this.last?.fill(0);
    this.last = Buffer.from(pin);
    return pin;
  }
  /** The PIN last given (after a successful login, the right one), as a non-interactive source. */
  replay(): PinSource {
    const last = this.last;
    if (!last) throw new CeremonyError('INTERNAL', 'no PIN to log in again with');
    return { kind: this.inner.kind, interactive: false, read: async () => Buffer.from(last) };
  }
  forget(): void {
    this.last?.fill(0);
    this.last = undefined;
  }
}
