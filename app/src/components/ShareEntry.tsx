import { useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { ShareAccepted } from '../../../main/ipc-contract.js';
import { api, call } from '../api.js';
import { MaskedShare } from './MaskedShare.js';
import { SecretDialog } from './SecretDialog.js';

/**
 * The one share entry of the Renew key workspace (renewal, backup and restore alike): shares presented one
 * by one — typed or pasted (text envelope or words, masked), from a file, or encrypted with the custodian's
 * key and passphrase — each checked by main on arrival and named, x of k shown. What comes once k are in
 * (the button that runs the ceremony) is the caller's `children`.
 */
export function ShareEntry(props: {
  accepted: ShareAccepted[];
  need: number;
  /** Runs a call, showing its refusal as an `error[CODE]` line. */
  guard(what: () => Promise<void>): Promise<void>;
  onAccepted(r: ShareAccepted): void;
  children?: ReactNode;
}) {
  const { accepted, need, guard, onAccepted } = props;
  const shareText = useRef<HTMLTextAreaElement>(null);
  const [asking, setAsking] = useState(false);
  const have = accepted.at(-1)?.have ?? 0;

  const addTyped = (e: FormEvent) => {
    e.preventDefault();
    const el = shareText.current;
    if (!el || el.value.trim() === '') return;
    const text = el.value;
    el.value = ''; // cleared before the answer: the share never waits in the renderer
    void guard(async () => onAccepted(await call(api().renewAddShare({ source: 'text', text }))));
  };
  const addFile = () => guard(async () => onAccepted(await call(api().renewAddShare({ source: 'file' }))));
  const addEncrypted = (passphrase: string) => {
    setAsking(false);
    void guard(async () => onAccepted(await call(api().renewAddShare({ source: 'encrypted', passphrase }))));
  };

  return (
    <>
      <h3>
        Shares <span data-testid="share-progress">{have}/{need}</span>
      </h3>
      <progress max={need} value={have} aria-label="shares present" />
      <ul className="accepted" aria-label="Accepted shares">
        {accepted.map((a) => (
          <li key={a.index} data-custodian={a.custodian}>
            ✓ share {a.index} of {a.custodian}
          </li>
        ))}
      </ul>
      {have < need && (
        <>
          <form onSubmit={addTyped} className="share-entry">
            <MaskedShare ref={shareText} name="share" label="Type or paste a share (text envelope or words)" />
            <button type="submit">Add share</button>
          </form>
          <p>
            <button type="button" onClick={() => void addFile()}>
              Add share from file…
            </button>{' '}
            <button type="button" onClick={() => setAsking(true)}>
              Add encrypted share…
            </button>
          </p>
        </>
      )}
      {have >= need && props.children}
      <SecretDialog open={asking} title="Custodian's key passphrase" label="Passphrase" submit="Decrypt share" onSubmit={addEncrypted} onCancel={() => setAsking(false)} />
    </>
  );
}
