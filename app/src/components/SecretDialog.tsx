import { useEffect, useId, useRef, useState, type FormEvent } from 'react';

/**
 * A modal asking for one secret (a PIN, a passphrase). The value lives only in the input element, never
 * in React state; it is handed to `onSubmit` and the input is cleared at once. An empty value is never
 * submitted: a stray Enter would otherwise cost one of the token's PIN tries.
 */
export function SecretDialog(props: { open: boolean; title: string; label: string; submit: string; onSubmit(secret: string): void; onCancel(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const titleId = useId();
  const hintId = useId();
  const [empty, setEmpty] = useState(true);
  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (props.open && !d.open) {
      d.showModal();
      setEmpty(true);
      input.current?.focus();
    } else if (!props.open && d.open) d.close();
  }, [props.open]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const el = input.current;
    if (!el || el.value === '') return;
    const secret = el.value;
    el.value = '';
    setEmpty(true);
    props.onSubmit(secret);
  };
  return (
    <dialog ref={dialog} aria-labelledby={titleId} onCancel={() => props.onCancel()} className="secret-dialog">
      <form onSubmit={submit}>
        <h2 id={titleId}>{props.title}</h2>
        <label>
          {props.label}
          <input ref={input} type="password" autoComplete="off" spellCheck={false} name="secret" aria-describedby={hintId} onInput={(e) => setEmpty(e.currentTarget.value === '')} />
        </label>
        <p id={hintId} className="hint">
          {empty ? `Type the ${props.label.toLowerCase()}; nothing is sent while it is empty.` : ' '}
        </p>
        <div className="actions">
          <button type="button" onClick={() => { if (input.current) input.current.value = ''; props.onCancel(); }}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={empty}>
            {props.submit}
          </button>
        </div>
      </form>
    </dialog>
  );
}
