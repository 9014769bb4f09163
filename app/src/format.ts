/**
 * Dates as the app shows them: the core's one rule (ceremony/read-aloud.ts, issue 13: "each date one way"),
 * applied to the ISO strings that cross the IPC bridge. The CLI, the hand-out notes and the app therefore
 * print `2027-12-02 14:05 UTC` and "expires …" (the instant, never a last valid day) the same way.
 */
import { formatInstant as instantOf, formatValidity as validityOf } from '../../ceremony/read-aloud.js';

/** An ISO instant, to the minute, in UTC; a string that is not a date is shown as it came. */
export function formatInstant(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : instantOf(d);
}

/** A key's validity as one sentence: `valid from …, expires …` (or `does not expire`). */
export function formatValidity(from: string, until?: string): string {
  const f = new Date(from);
  const u = until ? new Date(until) : null;
  return validityOf(Number.isNaN(f.getTime()) ? null : f, u && !Number.isNaN(u.getTime()) ? u : null);
}
