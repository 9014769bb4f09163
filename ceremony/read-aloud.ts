/**
 * How the ceremony shows values that people read aloud and compare (issue 13: "one ID format, each date
 * one way"). The CLI, the app and the hand-out notes all print through these, so a fingerprint, a set ID
 * or an expiry reads the same on every screen and every sheet of paper.
 */

/** Fingerprints and digests: hex in groups of four separated by spaces (`3F9A 12BC …`). */
export function groupHex(hex: string): string {
  return hex.replace(/\s+/g, '').replace(/(.{4})(?=.)/g, '$1 ');
}

/**
 * Quorum set IDs and session IDs: lower-case hex in groups of four joined by dashes (`3f9a-12bc-…`). A
 * session ID is a whole SHA-256; people read its first 128 bits, as quorumSessionId's `display` does.
 */
export function formatQuorumId(hex: string): string {
  const compact = hex.replace(/[\s-]/g, '').toLowerCase().slice(0, 32);
  return compact.match(/.{1,4}/g)?.join('-') ?? '';
}

/**
 * The end of a key's validity, always as the instant it expires (the OpenPGP view, RFC 9580 §5.2.3.18),
 * never as a "last valid day" that readers take one day apart: `2027-12-02 00:00 UTC`. A PKCS#11
 * CKA_END_DATE (the last valid day, PKCS#11 v2.40 §4.7) expires at the end of that day: give
 * `endOfDay(endDate)` (dates.ts).
 */
export function formatExpiry(instant: Date | null | undefined): string {
  if (!instant) return 'does not expire';
  return `expires ${formatInstant(instant)}`;
}

/** A moment, to the minute, in UTC: `2026-12-02 13:05 UTC`. */
export function formatInstant(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A key's validity window as people read it: `valid from 2026-12-02 00:00 UTC, expires 2027-12-02 00:00 UTC`. */
export function formatValidity(from: Date | null | undefined, until: Date | null | undefined): string {
  return `${from ? `valid from ${formatInstant(from)}, ` : ''}${formatExpiry(until)}`;
}
