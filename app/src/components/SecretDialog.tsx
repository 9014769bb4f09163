import { useEffect, useId, useRef, type FormEvent } from 'react';

/**
 * A modal asking for one secret (a PIN, a passphrase). The value lives only in the input element, never
 * in React state; it is handed to `onSubmit` and the input is cleared at once.
 */
export function SecretDialog(props: { open: boolean; title: string; label: string; submit: string; onSubmit(secret: string): void; onCancel(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (props.open && !d.open) {
      d.showModal();
      input.current?.focus();
    } else if (!props.open && d.open) d.close();
  }, [props.open]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const el = input.current;
    if (!el || el.value === '') return;
    const secret = el.value;
    el.value = '';
    props.onSubmit(secret);
  };
  return (
    <dialog ref={dialog} aria-labelledby={titleId} onCancel={() => props.onCancel()} className="secret-dialog">
      <form onSubmit={submit}>
        <h2 id={titleId}>{props.title}</h2>
        <label>
          {props.label}
          <input ref={input} type="password" autoComplete="off" spellCheck={false} name="secret" />
        </label>
        <div className="actions">
          <button type="button" onClick={() => { if (input.current) input.current.value = ''; props.onCancel(); }}>
            Cancel
          </button>
          <button type="submit" className="primary">
            {props.submit}
          </button>
        </div>
      </form>
    </dialog>
  );
}
