import { useCallback, useRef, useState, type FormEvent } from 'react';
import type { AuditView, HandedOutShare, IpcError, QuorumSessionView, RenewOutcome, ShareAccepted } from '../../../main/ipc-contract.js';
import { api, call, guarded } from '../api.js';
import type { Shell } from '../shell.js';
import { ErrorLine } from '../components/ErrorLine.js';
import { Fingerprint } from '../components/Fingerprint.js';
import { JobProgress } from '../components/JobProgress.js';
import { SecretDialog } from '../components/SecretDialog.js';
import { ShareEntry } from '../components/ShareEntry.js';
import { StepList } from '../components/StepList.js';
import { formatValidity } from '../format.js';
import { advance, RENEW_STEPS, type StepStates } from '../steps.js';
import { BackupRestore, type QuorumMode } from './BackupRestore.js';

/**
 * Renew key (DESIGN §3): the session ID confirmed by every custodian, shares presented one by one (typed,
 * pasted as words, from a file, or encrypted with the custodian's key and passphrase), each checked and named
 * on arrival, then the renewal, then the new shares handed out one custodian at a time. The same workspace
 * backs the keys up and restores them (issue 11, BackupRestore) with the same share entry; a renewal says
 * that older backups are now stale and offers the backup step.
 */
export function RenewKey({ shell, onOpenRecord }: { shell: Shell; onOpenRecord(view: AuditView): void }) {
  const [session, setSession] = useState<QuorumSessionView | null>(null);
  const [confirmed, setConfirmed] = useState(false);
  const [accepted, setAccepted] = useState<ShareAccepted[]>([]);
  const [outcome, setOutcome] = useState<RenewOutcome | null>(null);
  const [handed, setHanded] = useState<HandedOutShare[]>([]);
  const [error, setError] = useState<IpcError | null>(null);
  const [running, setRunning] = useState(false);
  const [asking, setAsking] = useState(false);
  const [mode, setMode] = useState<QuorumMode>('renew');
  const [steps, setSteps] = useState<StepStates>({});
  const sessionInput = useRef<HTMLInputElement>(null);

  const airOk = shell.airGap ? shell.airGap.airGapped || shell.airGap.overridden : false;
  const need = session?.threshold ?? shell.config?.threshold ?? 0;
  const states: StepStates = {
    'air-gap-check': shell.airGap ? (airOk ? 'done' : 'failed') : 'pending',
    'load-config': shell.config ? 'done' : 'active',
    ...steps,
  };
  const onStep = useCallback((step: string) => setSteps((s) => advance(s, step, RENEW_STEPS)), []);

  const guard = (what: () => Promise<void>) => guarded(setError, what);

  const open = () =>
    guard(async () => {
      setAccepted([]);
      setConfirmed(false);
      setOutcome(null);
      setHanded([]);
      setSession(await call(api().renewOpen()));
      setSteps({ 'quorum-session': 'active' });
    });

  const confirm = (e: FormEvent) => {
    e.preventDefault();
    void guard(async () => {
      await call(api().renewConfirmSession({ typed: sessionInput.current?.value ?? '' }));
      setConfirmed(true);
      setSteps((s) => ({ ...s, 'quorum-session': 'done', 'share-accepted': 'active' }));
    });
  };

  const received = (r: ShareAccepted) => {
    setAccepted((a) => [...a, r]);
    if (r.have >= r.need) setSteps((s) => ({ ...s, 'share-accepted': 'done', 'quorum-reached': 'done' }));
  };

  const renew = (signingPin: string) => {
    setAsking(false);
    setRunning(true);
    setSteps((s) => ({ ...s, 'root-login': 'active' }));
    void guard(async () => {
      try {
        const r = await call(api().renewRun({ signingPin }));
        setOutcome(r);
        setSteps((s) => ({
          ...s,
          'root-login': 'done',
          'generate-key': 'done',
          'bind-subkey': 'done',
          'sign-transition': 'done',
          'rotate-pins': 'done',
          'hand-out-share': 'active',
        }));
      } catch (e) {
        setSteps((s) => {
          const active = Object.entries(s).find(([, v]) => v === 'active')?.[0] ?? 'root-login';
          return { ...s, [active]: 'failed' };
        });
        setAccepted([]); // main wiped the shares: they must be presented again
        throw e;
      } finally {
        setRunning(false);
      }
    });
  };

  const next = outcome?.newShares.find((s) => !handed.some((h) => h.custodian === s.custodian));
  const handOut = (custodian: string) =>
    guard(async () => {
      const h = await call(api().renewHandOutShare({ custodian }));
      if (!h) return;
      const all = [...handed, h];
      setHanded(all);
      if (outcome && all.length === outcome.newShares.length) setSteps((s) => ({ ...s, 'hand-out-share': 'done', seal: 'done' }));
    });

  const openRecord = () =>
    guard(async () => {
      const v = await call(api().signOpenRecord());
      if (v) onOpenRecord(v);
    });

  /**
   * Another quorum ceremony of this workspace. The desk holds one quorum session at a time, so a renewal
   * not yet run is dropped (its shares are presented again); one that ran keeps its outcome, so the new
   * shares can still be handed out.
   */
  const switchTo = (next: QuorumMode) => {
    setError(null);
    if (!outcome) {
      setSession(null);
      setConfirmed(false);
      setAccepted([]);
      setSteps({});
    }
    setMode(next);
  };
  const modes = (
    <p className="modes" role="group" aria-label="Quorum ceremony">
      {(
        [
          ['renew', 'Renewal'],
          ['backup', 'Back up keys'],
          ['restore', 'Restore keys'],
        ] as const
      ).map(([m, label]) => (
        <button key={m} type="button" aria-pressed={mode === m} disabled={running} onClick={() => switchTo(m)}>
          {label}
        </button>
      ))}
    </p>
  );
  if (mode !== 'renew') return <BackupRestore key={mode} mode={mode} shell={shell} modes={modes} onOpenRecord={onOpenRecord} />;

  return (
    <div className="ceremony">
      <StepList title="Renew key" steps={RENEW_STEPS} states={states} />
      <div className="work">
        <h2>Renew key</h2>
        {modes}
        <p>
          <button type="button" className="primary" disabled={!shell.config || running} onClick={() => void open()}>
            Open the renewal
          </button>
        </p>
        <ErrorLine error={error} />
        {session && (
          <div className="readaloud">
            <h3>Quorum session ID</h3>
            <Fingerprint value={session.sessionId.replace(/-/g, '')} label="quorum session ID" />
            <p className="words">{session.sessionWords}</p>
            <p>
              Current certificate <Fingerprint value={session.currentFingerprint} label="current certificate fingerprint" />
            </p>
            <p>
              Shares needed now: {session.threshold} of {session.custodians.length} ({session.custodians.join(', ')}).
            </p>
            <p>
              New subkey {formatValidity(session.newValidity.from, session.newValidity.to)}; new quorum {session.newThreshold} of {session.newCustodians.length}:{' '}
              {session.newCustodians.join(', ')}.
            </p>
          </div>
        )}
        {session && !confirmed && (
          <form onSubmit={confirm} className="confirm">
            <label>
              Every custodian reads the ID on their own device; type it here to confirm (at least its first four groups)
              <input ref={sessionInput} name="session-id" autoComplete="off" spellCheck={false} />
            </label>
            <button type="submit">Confirm session ID</button>
          </form>
        )}
        {confirmed && !outcome && (
          <ShareEntry accepted={accepted} need={need} guard={guard} onAccepted={received}>
            <p>
              <button type="button" className="primary" disabled={running} onClick={() => setAsking(true)}>
                Renew the signing key…
              </button>
            </p>
          </ShareEntry>
        )}
        <JobProgress running={running} onStep={onStep} />
        {outcome && (
          <>
            <h3>New signing subkey</h3>
            <Fingerprint value={outcome.newSubkeyFingerprint} label="new subkey fingerprint" />
            {outcome.backupStale && (
              <p className="warning" role="note" data-testid="backup-stale">
                {outcome.backupStale}
              </p>
            )}
            <h3>New shares</h3>
            <ul aria-label="Handed out shares">
              {handed.map((h) => (
                <li key={h.custodian}>
                  ✓ {h.custodian}: saved {h.encrypted ? '(encrypted) ' : ''}as <code>{h.savedAs}</code>
                </li>
              ))}
            </ul>
            {next ? (
              <p>
                Only <strong>{next.custodian}</strong> at the screen now.{' '}
                <button type="button" className="primary" onClick={() => void handOut(next.custodian)}>
                  Save the new share of {next.custodian}…
                </button>
              </p>
            ) : (
              <p>
                Every new share is handed out. <button type="button" onClick={() => void openRecord()}>Open the record</button>{' '}
                <button type="button" className="primary" onClick={() => switchTo('backup')}>
                  Back up the keys now…
                </button>
              </p>
            )}
          </>
        )}
      </div>
      <SecretDialog open={asking} title="Signing token PIN" label="PIN" submit="Renew" onSubmit={renew} onCancel={() => setAsking(false)} />
    </div>
  );
}
