/**
 * A refusal no seal key could reach (issue 13): `sign` and `payload sign` seal their record with a key on
 * the signing token, behind the maintainer's PIN. When the token refuses that PIN, the key that would seal
 * the record of the refusal is the very key the token just kept locked, and no second login is tried (each
 * try costs one on the token). Such a record ends with `ceremony-end` `failed`, unsealed.
 *
 * It is not sealed with anything reachable without the PIN: a key on disk or a PIN-less token object would
 * let whoever holds the laptop forge seals for any record. So the review gives it a verdict of its own,
 * `refused-unsealed`, distinct from `incomplete` (killed or crashed) and never a pass: an unsealed log
 * proves neither who wrote it nor that nothing was cut from its end, so a forger who cuts a sealed record
 * before its login and appends a PIN refusal gets exactly this verdict, never a clean one.
 */
import type { CeremonyStep, NumberedEvent } from './events.js';
import type { Finding } from './findings.js';

/**
 * The token's refusals of a PIN, as ceremony/hsm/token.ts `login` raises them: a wrong PIN from a
 * non-interactive source, the last of the ceremony's tries (PKCS#11 v2.40 §5.6 C_Login, CKR_PIN_INCORRECT),
 * or a locked PIN (CKF_USER_PIN_LOCKED, CKR_PIN_LOCKED). An empty or missing PIN (PIN_UNAVAILABLE) is not
 * the token's refusal: it stays incomplete.
 */
export const UNSEALABLE_REFUSAL_CODES: readonly string[] = ['PIN_INCORRECT', 'PIN_ATTEMPTS_EXHAUSTED', 'PIN_LOCKED'];

/** The step whose PIN guards the seal key of `sign` and `payload sign`. */
const LOGIN_STEP: CeremonyStep = 'hsm-login';

/** Steps whose success opens a token session: after one, a seal key may have been reachable. */
const LOGINS: ReadonlySet<CeremonyStep> = new Set<CeremonyStep>(['hsm-login', 'root-login']);

/** The step after which a restore has keys that could seal its record (restore.ts): the restored keys. */
const RESTORED_STEP: CeremonyStep = 'unwrap-keys';

/**
 * Why an unsealed record is a refusal that no seal key could reach, or undefined when it is not one. Its
 * only problem must be the missing seal (the log whole, chained, ended; no tampering, no policy finding);
 * it ends with `ceremony-end` `failed`; it never tried to seal (no `seal` event); and either
 * - the step that stopped it is the first login, refused by the token (UNSEALABLE_REFUSAL_CODES) before
 *   any login had succeeded: the seal key is behind that PIN; or
 * - it is a `restore` stopped (with a code) before any key was restored: a restore runs on fresh tokens
 *   and seals with the keys it restores, so no key exists yet that could seal it.
 */
export function unsealableRefusalReason(events: NumberedEvent[], findings: Finding[]): string | undefined {
  // seal-missing is found only for a log whose last line is ceremony-end (review.ts), so it stands for "ended".
  const problems = findings.filter((f) => f.class !== 'note');
  if (problems.length === 0 || !problems.every((f) => f.code === 'seal-missing')) return undefined;
  if (events.at(-1)?.event.result !== 'failed') return undefined;
  if (events.some((e) => e.event.step === 'seal')) return undefined;
  const failedAt = events.findIndex((e) => e.event.result === 'failed');
  const failure = events[failedAt]?.event;
  if (!failure?.code || failure.step === 'ceremony-end') return undefined;
  const before = events.slice(0, failedAt);
  if (failure.kind === 'restore' && !before.some((e) => e.event.step === RESTORED_STEP && e.event.result === 'ok')) {
    return 'no key that could seal it existed yet (a restore runs on fresh tokens and seals with the keys it restores)';
  }
  if (failure.step !== LOGIN_STEP || !UNSEALABLE_REFUSAL_CODES.includes(failure.code)) return undefined;
  if (before.some((e) => LOGINS.has(e.event.step) && e.event.result === 'ok')) return undefined;
  return 'the seal key is behind the PIN the token refused';
}

/** Whether an unsealed record is a refusal that no seal key could reach (unsealableRefusalReason). */
export function isUnsealableRefusal(events: NumberedEvent[], findings: Finding[]): boolean {
  return unsealableRefusalReason(events, findings) !== undefined;
}
