/**
 * How the custodians confirm a renewal's quorum session in the app: by the core's one rule
 * (ceremony/quorum confirmsQuorumSession, the same for the CLI prompt and --session-id): the session ID
 * typed, at least its first four groups (64 bits), never "yes". Whatever was typed, the answer is a sentence saying what to do, never "malformed
 * request": a typed "yes" is a person's answer, not an attack.
 */
import { CeremonyError } from '../ceremony/errors.js';
import { confirmsQuorumSession } from '../ceremony/quorum/index.js';

/** Digits of the ID that must match: 16 hex digits (64 bits), as `renew --session-id` requires. */
const MIN_HEX = 16;

/** Throws a CeremonyError saying what to type when `typed` does not confirm `sessionId` (shown as hex groups). */
export function judgeSessionConfirmation(typed: string, sessionId: string): void {
  const expected = sessionId.replace(/[\s-]/g, '').toLowerCase();
  const answer = typed.trim();
  const digits = answer.replace(/[\s-]/g, '').toLowerCase();
  const example = sessionId.split('-').slice(0, 2).join('-');
  if (answer === '') throw new CeremonyError('USAGE', `type the session ID shown (for example ${example}-…) to confirm it`);
  if (/^(yes|y|ok|confirm(ed)?)$/i.test(answer)) {
    throw new CeremonyError('USAGE', `type the session ID itself (${example}-…), not "${answer.slice(0, 16)}": that is how the custodians show they read the same ID`);
  }
  if (!/^[0-9a-f]*$/.test(digits)) {
    throw new CeremonyError('USAGE', 'a session ID holds only the digits 0-9 and the letters a-f, in groups of four; type it as shown');
  }
  if (digits.length < MIN_HEX) {
    throw new CeremonyError('USAGE', `type at least the first ${MIN_HEX / 4} groups of the session ID (${MIN_HEX} digits); ${digits.length} were typed`);
  }
  if (!confirmsQuorumSession(answer, expected)) {
    throw new CeremonyError('QUORUM_MISMATCH', 'the session ID typed does not match this renewal; check its parameters before going on');
  }
}
