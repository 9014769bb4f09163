/**
 * How the app prints an instant: UTC, to the minute, always the same way, and always saying it is the
 * instant (not "the last valid day"), e.g. `2027-12-02 14:05 UTC`.
 */
export function formatInstant(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
}

/** A key's validity as one sentence: from its creation to the instant it expires (or "no expiry"). */
export function formatValidity(from: string, until?: string): string {
  return `valid from ${formatInstant(from)} ${until ? `until ${formatInstant(until)} (the instant it expires)` : 'with no expiry date'}`;
}
