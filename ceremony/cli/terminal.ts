/**
 * The CLI's questions at a terminal (issue 13): the signing confirmation, the quorum session
 * confirmation and pasted shares. Secrets (shares, like PINs in hsm/pin.ts) are read in raw mode without
 * echo, so they never reach the screen or its scrollback; only a count of the lines received is shown.
 */
import { CeremonyError } from '../errors.js';
import { signingPlanLines, signingQuestion, confirmsSigning, type SigningPlan } from '../ceremonies/signing-plan.js';
// session-id.js, not the quorum barrel: every ceremony command imports this file, and the barrel loads
// the share splitting and encryption libraries that only the quorum ceremonies use.
import { sessionConfirmationPrompt, type QuorumSessionId } from '../quorum/session-id.js';
import type { ShareSource } from '../ceremonies/quorum-shares.js';

/** The largest share envelope a person pastes (a words envelope is about 1 KiB). */
const MAX_PASTE_BYTES = 64 * 1024;

/** One visible line of input (for answers that are not secrets). */
export async function askLine(input: NodeJS.ReadStream, output: NodeJS.WritableStream, question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input, output, terminal: Boolean(input.isTTY) });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

/** Show the signing plan and ask "Type yes to sign N files". */
export function confirmSigningAtTerminal(input: NodeJS.ReadStream, output: NodeJS.WritableStream): (plan: SigningPlan) => Promise<boolean> {
  return async (plan) => {
    output.write(`\n${signingPlanLines(plan).join('\n')}\n\n`);
    return confirmsSigning(await askLine(input, output, signingQuestion(plan)));
  };
}

/** Show the session ID for reading aloud; the answer is checked by the core (confirmsQuorumSession). */
export function confirmSessionAtTerminal(input: NodeJS.ReadStream, output: NodeJS.WritableStream): (id: QuorumSessionId) => Promise<string> {
  return async (id) => {
    output.write(`\nQuorum session ID:\n    ${id.display}\n    ${id.words}\nEvery custodian reads it aloud on this screen and on their own copy of the parameters.\n`);
    return askLine(input, output, `${sessionConfirmationPrompt(id)}: `);
  };
}

/**
 * Read lines without echo until `last(line)` holds, an empty first line (nothing pasted), or Ctrl-D.
 * Ctrl-C cancels. Bytes are wiped as they are consumed; the caller wipes the returned buffer.
 */
export function readHiddenLines(input: NodeJS.ReadStream, output: NodeJS.WritableStream, last: (line: string) => boolean): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const bytes: number[] = [];
    let lineStart = 0;
    let lines = 0;
    const wasRaw = input.isRaw;
    input.setRawMode?.(true);
    input.resume();
    const finish = (result: Buffer | undefined | CeremonyError) => {
      input.removeListener('data', onData);
      input.setRawMode?.(wasRaw ?? false);
      input.pause();
      output.write('\n');
      bytes.fill(0);
      if (result instanceof CeremonyError) reject(result);
      else resolve(result);
    };
    const onData = (data: Buffer) => {
      for (const byte of data) {
        if (byte === 0x03) return finish(new CeremonyError('CANCELLED', 'cancelled at the prompt'));
        if (byte === 0x04) return finish(lines === 0 && bytes.length === 0 ? undefined : Buffer.from([...bytes, 0x0a]));
        if (byte === 0x0d || byte === 0x0a) {
          // A paste sends CR (raw mode) or CRLF: an empty line right after a line end is the same line end.
          const line = Buffer.from(bytes.slice(lineStart)).toString('utf8');
          if (line === '' && bytes.length > 0 && bytes[bytes.length - 1] === 0x0a) continue;
          if (lines === 0 && line.trim() === '') return finish(undefined);
          bytes.push(0x0a);
          lineStart = bytes.length;
          lines++;
          output.write(`\r  ${lines} line(s) received (not shown)`);
          if (last(line)) {
            const out = Buffer.from(bytes);
            return finish(out);
          }
          continue;
        }
        if (byte === 0x7f || byte === 0x08) {
          if (bytes.length > lineStart) bytes.pop();
        } else if (bytes.length < MAX_PASTE_BYTES) bytes.push(byte);
      }
      data.fill(0);
    };
    input.on('data', onData);
  });
}

/** Ask for one pasted share (envelope or words) without echo; an empty line ends the prompting. */
export function promptShareAtTerminal(input: NodeJS.ReadStream, output: NodeJS.WritableStream): (have: number, need: number) => Promise<ShareSource | undefined> {
  return async (have, need) => {
    output.write(`\nShare ${have + 1} of ${need}: paste the share (envelope or words; it is not shown), or press Enter to stop\n`);
    const text = await readHiddenLines(input, output, (line) => /^-----END QUORUM SHARE( WORDS)?-----\s*$/.test(line.trim()));
    return text ? { source: `prompt ${have + 1}`, text } : undefined;
  };
}
