/**
 * The quorum session ID (DESIGN §3 Renew): a hash that binds a renewal to its parameters, which every
 * custodian reads aloud and confirms before presenting a share. A custodian who confirms the ID agrees to
 * exactly this certificate, this validity window and this new custodian set and threshold.
 *
 *   SHA-256("ceremony quorum session v1\0" ‖ canonical JSON of
 *           {fingerprint, validFrom, validUntil, threshold, custodians})
 * fingerprint: upper-case hex without spaces; times: ISO 8601 UTC to the second; custodians: in share order.
 */
import { createHash } from 'node:crypto';
import { bytesToWords } from './word-encoding.js';
import { formatQuorumId } from '../read-aloud.js';

export interface QuorumSessionParameters {
  /** The OpenPGP fingerprint of the certificate in force (hex; spaces and case ignored). */
  currentFingerprint: string;
  validFrom: Date;
  validUntil: Date;
  /** The NEW custodian set, in share order. */
  custodians: readonly string[];
  /** The NEW threshold. */
  threshold: number;
}

export interface QuorumSessionId {
  /** The whole SHA-256, 64 lower-case hex characters (for the audit log). */
  hex: string;
  /** The first 128 bits as eight groups of four hex digits, for reading aloud: `3f9a-12bc-...`. */
  display: string;
  /** The same 128 bits as 16 PGP words, an alternative for reading aloud. */
  words: string;
}

const LABEL = Buffer.from('ceremony quorum session v1\0', 'ascii');

function isoSeconds(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new RangeError('the validity window has an invalid date');
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function quorumSessionId(p: QuorumSessionParameters): QuorumSessionId {
  const fingerprint = p.currentFingerprint.replace(/\s+/g, '').toUpperCase();
  if (!/^[0-9A-F]{40}$|^[0-9A-F]{64}$/.test(fingerprint)) throw new RangeError('an OpenPGP fingerprint is 40 (v4) or 64 (v6) hex digits');
  const canonical = JSON.stringify({
    fingerprint,
    validFrom: isoSeconds(p.validFrom),
    validUntil: isoSeconds(p.validUntil),
    threshold: p.threshold,
    custodians: [...p.custodians],
  });
  const digest = createHash('sha256').update(LABEL).update(canonical, 'utf8').digest();
  const head = digest.subarray(0, 16);
  return {
    hex: digest.toString('hex'),
    display: formatQuorumId(head.toString('hex')),
    words: bytesToWords(head).join(' '),
  };
}

/**
 * How the custodians confirm a session, in the CLI and in the app alike (issue 13: one confirmation):
 * after reading the whole ID aloud, the operator types its first four groups (64 bits, e.g.
 * `3f9a-12bc-4de5-6789`), which an unattended run gives as `--session-id`. Typing part of the ID rather
 * than "yes" shows the screen that was confirmed is the one on which the ID was read; 64 bits cannot be
 * met by chance, and a longer prefix (up to the whole SHA-256) is accepted too.
 */
export const SESSION_CONFIRM_GROUPS = 4;

/** What the operator types to confirm `id`: its first four groups, as displayed. */
export function sessionConfirmationText(id: Pick<QuorumSessionId, 'hex'>): string {
  return formatQuorumId(id.hex.slice(0, SESSION_CONFIRM_GROUPS * 4));
}

/** The sentence a prompt shows before the operator types the confirmation. */
export function sessionConfirmationPrompt(id: Pick<QuorumSessionId, 'hex'>): string {
  return `When every custodian has confirmed the session ID, type its first ${SESSION_CONFIRM_GROUPS} groups (${sessionConfirmationText(id)}) to go on`;
}

/**
 * Whether `answer` confirms the session whose whole ID is `idHex`: at least its first 16 hex digits, in
 * order, with any dashes, spaces and letter case. Anything else (including "yes") is not a confirmation.
 */
export function confirmsQuorumSession(answer: string, idHex: string): boolean {
  const typed = answer.replace(/[\s-]/g, '').toLowerCase();
  return /^[0-9a-f]+$/.test(typed) && typed.length >= SESSION_CONFIRM_GROUPS * 4 && typed.length <= 64 && idHex.toLowerCase().startsWith(typed);
}
