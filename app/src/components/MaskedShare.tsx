import { forwardRef, useState, type KeyboardEvent } from 'react';

/**
 * A text area for a share, masked like a password field (a share is a secret, as a PIN is): the text is
 * shown only while the "Hold to show" button is held down, by pointer or by keyboard (Space/Enter), and
 * masked again as soon as it is let go or loses focus. The value stays in the element, never in state.
 */
export const MaskedShare = forwardRef<HTMLTextAreaElement, { label: string; name: string; rows?: number }>(function MaskedShare({ label, name, rows = 6 }, ref) {
  const [shown, setShown] = useState(false);
  const hide = () => setShown(false);
  const keyDown = (e: KeyboardEvent) => {
    if (e.key === ' ' || e.key === 'Enter') {
      e.preventDefault();
      setShown(true);
    }
  };
  return (
    <div className="masked-share">
      <label>
        {label}
        <textarea ref={ref} name={name} rows={rows} autoComplete="off" spellCheck={false} autoCorrect="off" autoCapitalize="off" className={shown ? 'secret-shown' : 'secret-masked'} data-masked={!shown} />
      </label>
      <button
        type="button"
        className="hold-to-show"
        aria-pressed={shown}
        onPointerDown={() => setShown(true)}
        onPointerUp={hide}
        onPointerLeave={hide}
        onPointerCancel={hide}
        onKeyDown={keyDown}
        onKeyUp={hide}
        onBlur={hide}
      >
        Hold to show
      </button>
    </div>
  );
});
