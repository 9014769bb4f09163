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
    display: head.toString('hex').match(/.{4}/g)!.join('-'),
    words: bytesToWords(head).join(' '),
  };
}
