import type { AuditView } from '../../../main/ipc-contract.js';

/**
 * The verdict as a badge. Green only for an intact record whose seal was checked against a pinned
 * certificate: an unpinned seal proves only that the record agrees with the keys it carries itself (an
 * attacker who rewrote it could re-seal it with his own). A refused ceremony (the record intact, the
 * refusal by policy) has its own badge, distinct from an incomplete one (killed or crashed); so has a
 * refusal no seal key could reach (the token refused the PIN that guards the seal key): unsealed, it
 * proves neither its author nor its end, and is shown as neither refused nor incomplete.
 */
export function VerdictBadge({ view }: { view: AuditView }) {
  const unpinned = view.verdict === 'intact' && !view.seal.pinned;
  const tone = view.verdict === 'intact' ? (unpinned ? 'unpinned' : 'intact') : view.verdict === 'refused' || view.verdict === 'refused-unsealed' || view.verdict === 'incomplete' ? view.verdict : 'failed';
  const text = unpinned ? 'INTACT — SEAL NOT PINNED' : view.verdict === 'refused-unsealed' ? 'REFUSED — UNSEALED' : view.verdict.replace('-', ' ').toUpperCase();
  return (
    <p className={`verdict verdict-${tone}`} data-testid="verdict" data-verdict={view.verdict} data-pinned={view.seal.pinned} data-tone={tone}>
      {text}
    </p>
  );
}
