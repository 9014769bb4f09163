/**
 * Calendar rules the ceremonies share. PKCS#11 dates (CKA_START_DATE, CKA_END_DATE, PKCS#11 v2.40 §4.7) are
 * whole UTC days; OpenPGP expiry (RFC 9580 §5.2.3.18) is an instant. A key made today is valid from the
 * start of today, UTC, and its CKA_END_DATE names its last valid day, which ends at the next midnight UTC:
 * that midnight is the instant its OpenPGP certificate expires, so the token and gpg give the same end.
 */

export const DAY_MS = 86_400_000;

/** Midnight UTC at the start of the day `d` falls in. */
export function utcDay(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

/** The instant a PKCS#11 CKA_END_DATE (the last valid day, a UTC date) ends. */
export function endOfDay(lastValidDay: Date): Date {
  return new Date(Date.UTC(lastValidDay.getUTCFullYear(), lastValidDay.getUTCMonth(), lastValidDay.getUTCDate() + 1));
}
