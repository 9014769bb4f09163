import { useCallback, useState } from 'react';
import type { AuditView, InboxView, IpcError, SignOutcome } from '../../../main/ipc-contract.js';
import { api, call, errorOf } from '../api.js';
import type { Shell } from '../shell.js';
import { ErrorLine } from '../components/ErrorLine.js';
import { BuilderAgreement } from '../components/BuilderAgreement.js';
import { ConfirmSigning } from '../components/ConfirmSigning.js';
import { Fingerprint } from '../components/Fingerprint.js';
import { KeyCard } from '../components/KeyCard.js';
import { JobProgress } from '../components/JobProgress.js';
import { SecretDialog } from '../components/SecretDialog.js';
import { StepList } from '../components/StepList.js';
import { advance, SIGN_STEPS, type StepStates } from '../steps.js';

/**
 * Sign update (DESIGN §3): inbox → verification table → read aloud and confirm (key and every SHA-256) →
 * one PIN → sign → self-check → record.
 */
export function SignUpdate({ shell, onOpenRecord }: { shell: Shell; onOpenRecord(view: AuditView): void }) {
  const [inbox, setInbox] = useState<InboxView | null>(null);
  const [outcome, setOutcome] = useState<SignOutcome | null>(null);
  const [error, setError] = useState<IpcError | null>(null);
  const [running, setRunning] = useState(false);
  const [pinOpen, setPinOpen] = useState(false);
  const [confirmOpen, setConfirmOpen] = useState(false);
  const [steps, setSteps] = useState<StepStates>({});

  const airOk = shell.airGap ? shell.airGap.airGapped || shell.airGap.overridden : false;
  const base: StepStates = { 'air-gap-check': shell.airGap ? (airOk ? 'done' : 'failed') : 'pending', 'load-config': shell.config ? 'done' : 'active' };
  const states = { ...base, ...steps };
  const [payloadKey, setPayloadKey] = useState('');
  // All or nothing (DESIGN §3): signing is offered only when every input verified; main enforces the same.
  const rejected = inbox?.files.filter((f) => f.status === 'REJECTED') ?? [];
  const payloads = inbox?.files.filter((f) => f.kind === 'payload') ?? [];
  const needsPayloadKey = payloads.length > 0 && (inbox?.payloadKeys.length ?? 0) > 0;
  const toSign = inbox?.files.filter((f) => needsPayloadKey || f.kind !== 'payload') ?? [];
  const canSign = !running && !outcome && rejected.length === 0 && toSign.length > 0 && (!needsPayloadKey || payloadKey !== '');
  const onStep = useCallback((step: string) => setSteps((s) => advance(s, step, SIGN_STEPS)), []);

  const chooseInbox = async () => {
    setError(null);
    setOutcome(null);
    setRunning(true);
    setSteps({ 'verify-input': 'active' });
    try {
      const view = await call(api().signChooseInbox());
      if (view) {
        setInbox(view);
        setPayloadKey(view.payloadKeys.length === 1 ? view.payloadKeys[0]!.uri : '');
        setSteps(view.files.some((f) => f.status === 'REJECTED') ? { 'verify-input': 'failed' } : { 'verify-input': 'done', 'show-fingerprints': 'active' });
      } else setSteps({});
    } catch (e) {
      setError(errorOf(e));
      setSteps({ 'verify-input': 'failed' });
    } finally {
      setRunning(false);
    }
  };

  const sign = async (pin: string) => {
    setPinOpen(false);
    if (!inbox || pin === '') return; // never an empty PIN: it would cost a try on the token
    setError(null);
    setRunning(true);
    setSteps((s) => ({ ...s, 'show-fingerprints': 'done', 'hsm-login': 'active' }));
    try {
      // The PIN is passed straight through and not kept: this closure is its only holder.
      const confirmedKey = inbox.signingKey.fingerprint;
      const result = await call(api().signRun(needsPayloadKey ? { pin, confirmedKey, payloadKey } : { pin, confirmedKey }));
      setOutcome(result);
      setSteps((s) => ({ ...s, 'hsm-login': 'done', sign: 'done', 'self-check': result.outputs.every((o) => o.selfCheck === 'OK') ? 'done' : 'failed', 'write-output': 'done', seal: 'done' }));
    } catch (e) {
      const err = errorOf(e);
      setError(err);
      setSteps((s) => {
        const active = Object.entries(s).find(([, v]) => v === 'active')?.[0] ?? 'hsm-login';
        return { ...s, [active]: 'failed' };
      });
    } finally {
      setRunning(false);
    }
  };

  const openRecord = async () => {
    try {
      const view = await call(api().signOpenRecord());
      if (view) onOpenRecord(view);
    } catch (e) {
      setError(errorOf(e));
    }
  };

  return (
    <div className="ceremony">
      <StepList title="Sign update" steps={SIGN_STEPS} states={states} />
      <div className="work">
        <h2>Sign update</h2>
        <p>
          <button type="button" className="primary" disabled={!shell.config || running} onClick={() => void chooseInbox()}>
            Choose inbox folder…
          </button>
        </p>
        <JobProgress running={running} onStep={onStep} />
        <ErrorLine error={error} />
        {inbox && (
          <>
            <h3>Inbox {inbox.folder}</h3>
            <table className="inbox" aria-label="Inbox files">
              <colgroup>
                <col className="col-file" />
                <col className="col-kind" />
                <col className="col-status" />
                <col className="col-reason" />
                <col className="col-signer" />
                <col className="col-sha" />
              </colgroup>
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Status</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Signed by</th>
                  <th scope="col">SHA-256</th>
                </tr>
              </thead>
              <tbody>
                {inbox.files.map((f) => [
                  <tr key={f.name} data-file={f.name} data-status={f.status} className={`status-${f.status.replace(' ', '-').toLowerCase()}`}>
                    <th scope="row">{f.name}</th>
                    <td data-kind={f.kind}>{f.kind === 'payload' ? 'update payload' : f.kind}</td>
                    <td>
                      <strong>{f.status}</strong>
                    </td>
                    <td>{f.reason ? `error[${f.reason.code}] ${f.reason.message}` : ''}</td>
                    <td>{f.signerFingerprint ? <Fingerprint value={f.signerFingerprint} label="signer" /> : ''}</td>
                    <td>
                      <Fingerprint value={f.sha256} label={`SHA-256 of ${f.name}`} />
                    </td>
                  </tr>,
                  f.builders && (
                    <tr key={`${f.name} builders`} className="builders-row">
                      <td colSpan={6}>
                        <BuilderAgreement view={f.builders} file={f.name} />
                      </td>
                    </tr>
                  ),
                ])}
              </tbody>
            </table>
            {inbox.supporting.length > 0 && (
              <p className="supporting" data-testid="supporting">
                Signatures and DIGESTS used: {inbox.supporting.join(', ')}
              </p>
            )}
            {inbox.unused.length > 0 && (
              <p className="supporting muted" data-testid="unused">
                In the folder but not used (they belong to no file listed above): {inbox.unused.join(', ')}
              </p>
            )}
            <div className="readaloud">
              <h3>Signing key</h3>
              <KeyCard keyView={inbox.signingKey} fingerprintLabel="signing key fingerprint" />
            </div>
            {payloads.length > 0 && inbox.payloadKeys.length > 0 && (
              <div className="readaloud">
                <h3>Payload key</h3>
                <p>
                  <label>
                    Sign the update payload{payloads.length > 1 ? 's' : ''} with{' '}
                    <select value={payloadKey} onChange={(e) => setPayloadKey(e.target.value)} disabled={running || !!outcome}>
                      <option value="">choose a payload key…</option>
                      {inbox.payloadKeys.map((k) => (
                        <option key={k.uri} value={k.uri}>
                          {k.label}
                        </option>
                      ))}
                    </select>
                  </label>
                </p>
                {inbox.payloadKeys
                  .filter((k) => k.uri === payloadKey)
                  .map((k) => (
                    <Fingerprint key={k.uri} value={k.fingerprint} label="payload key fingerprint" />
                  ))}
              </div>
            )}
            {payloads.length > 0 && inbox.payloadKeys.length === 0 && (
              <p className="warning" data-testid="payload-note">
                The signing token holds no RSA-2048 payload key, so {payloads.length === 1 ? 'the update payload' : `the ${payloads.length} update payloads`} ({payloads.map((f) => f.name).join(', ')}) will not be signed.
              </p>
            )}
            {rejected.length > 0 && (
              <p className="warning" role="status" data-testid="rejected-note">
                Nothing will be signed: {rejected.length === 1 ? 'the file' : `${rejected.length} files`} {rejected.map((f) => f.name).join(', ')} failed verification. Take{' '}
                {rejected.length === 1 ? 'it' : 'them'} out of the inbox folder, then choose the inbox folder again.
              </p>
            )}
            <p>
              <button type="button" className="primary" disabled={!canSign} onClick={() => setConfirmOpen(true)}>
                Sign {toSign.length} file{toSign.length === 1 ? '' : 's'}…
              </button>
            </p>
          </>
        )}
        {outcome && (
          <>
            <div className="readaloud">
              <h3>Signed by</h3>
              <KeyCard keyView={outcome.key} fingerprintLabel="signing key fingerprint" />
            </div>
            <h3>Outputs</h3>
            <table className="outputs" aria-label="Outputs">
              <colgroup>
                <col className="col-file" />
                <col className="col-status" />
                <col className="col-sha" />
              </colgroup>
              <thead>
                <tr>
                  <th scope="col">Output</th>
                  <th scope="col">Self-check</th>
                  <th scope="col">SHA-256</th>
                </tr>
              </thead>
              <tbody>
                {outcome.outputs.map((o) => (
                  <tr key={o.path} data-output={o.name}>
                    <th scope="row">{o.name}</th>
                    <td>
                      <strong>{o.selfCheck}</strong>
                    </td>
                    <td>
                      <Fingerprint value={o.sha256} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {outcome.skipped.length > 0 && (
              <p className="warning" data-testid="skipped-note">
                Not signed: {outcome.skipped.map((k) => `${k.name} (${k.reason})`).join('; ')}.
              </p>
            )}
            {outcome.records.length > 1 && (
              <p>
                Records written: {outcome.records.map((r) => <code key={r.id}>{r.folder} </code>)}
              </p>
            )}
            <p>
              Record: <code>{outcome.record.folder}</code>{' '}
              <button type="button" onClick={() => void openRecord()}>
                Open the record
              </button>
            </p>
          </>
        )}
      </div>
      {inbox && (
        <ConfirmSigning
          open={confirmOpen}
          signingKey={inbox.signingKey}
          {...(needsPayloadKey ? { payloadKey: inbox.payloadKeys.find((k) => k.uri === payloadKey) } : {})}
          files={toSign}
          onConfirm={() => {
            setConfirmOpen(false);
            setSteps((s) => ({ ...s, 'show-fingerprints': 'done', 'hsm-login': 'active' }));
            setPinOpen(true);
          }}
          onCancel={() => setConfirmOpen(false)}
        />
      )}
      <SecretDialog open={pinOpen} title="Signing token PIN" label="PIN" submit="Sign" onSubmit={(pin) => void sign(pin)} onCancel={() => setPinOpen(false)} />
    </div>
  );
}
