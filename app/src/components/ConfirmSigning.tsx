import { useEffect, useId, useRef } from 'react';
import type { InboxFile, PayloadKeyView, SigningKeyView } from '../../../main/ipc-contract.js';
import { Fingerprint } from './Fingerprint.js';
import { KeyCard } from './KeyCard.js';

/**
 * The last screen before the HSM (DESIGN §3 "read aloud"): the key that will sign and every input with its
 * SHA-256 in groups of four, then an explicit confirmation. Only after it does the PIN dialog open; main
 * checks the confirmed key is the one it signs with.
 */
export function ConfirmSigning(props: { open: boolean; signingKey: SigningKeyView; payloadKey?: PayloadKeyView; files: InboxFile[]; onConfirm(): void; onCancel(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    else if (!props.open && d.open) d.close();
  }, [props.open]);
  const n = props.files.length;
  return (
    <dialog ref={dialog} aria-labelledby={titleId} onCancel={() => props.onCancel()} className="confirm-dialog">
      <h2 id={titleId}>Confirm before the HSM</h2>
      <p>Read the key and every SHA-256 aloud and compare them with the release announcement. Nothing has been sent to the token yet.</p>
      <h3>The key that will sign</h3>
      <KeyCard keyView={props.signingKey} fingerprintLabel="key to sign with" />
      {props.payloadKey && (
        <>
          <h3>The payload key</h3>
          <KeyCard keyView={{ ...props.payloadKey, role: 'RSA-2048 update payload key' }} fingerprintLabel="payload key to sign with" />
        </>
      )}
      <h3>
        The {n} file{n === 1 ? '' : 's'} to sign
      </h3>
      <table className="confirm-files" aria-label="Files to sign">
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col">SHA-256</th>
          </tr>
        </thead>
        <tbody>
          {props.files.map((f) => (
            <tr key={f.name} data-file={f.name}>
              <th scope="row">{f.name}</th>
              <td>
                <Fingerprint value={f.sha256} label={`SHA-256 to sign of ${f.name}`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="actions">
        <button type="button" onClick={() => props.onCancel()}>
          Cancel
        </button>
        <button type="button" className="primary" onClick={() => props.onConfirm()}>
          Confirmed: sign {n} file{n === 1 ? '' : 's'} with {props.signingKey.label}
        </button>
      </div>
    </dialog>
  );
}
