import { groupHex } from '../../../ceremony/read-aloud.js';

/** A fingerprint or hash in groups of four, large, for reading aloud; the whole value is kept for copying. */
export function Fingerprint({ value, label }: { value: string; label?: string }) {
  const groups = groupHex(value).split(' ').filter(Boolean);
  return (
    <code className="fingerprint" aria-label={label ? `${label}: ${groups.join(' ')}` : groups.join(' ')} data-value={value}>
      {groups.map((g, i) => (
        <span key={i} className="group">
          {g}
        </span>
      ))}
    </code>
  );
}
