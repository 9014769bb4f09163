import { useCallback, useRef, useState, type ReactNode } from 'react';
import type { AuditView, BackupOutcome, BackupSessionView, IpcError, RestoreOutcome, RestoreSessionView, ShareAccepted } from '../../../main/ipc-contract.js';
import { api, call, guarded } from '../api.js';
import type { Shell } from '../shell.js';
import { ErrorLine } from '../components/ErrorLine.js';
import { Fingerprint } from '../components/Fingerprint.js';
import { JobProgress } from '../components/JobProgress.js';
import { SecretDialog } from '../components/SecretDialog.js';
import { ShareEntry } from '../components/ShareEntry.js';
import { StepList } from '../components/StepList.js';
import { formatInstant } from '../format.js';
import { advance, BACKUP_STEPS, RESTORE_STEPS, type StepStates } from '../steps.js';

export type QuorumMode = 'renew' | 'backup' | 'restore';
type Asking = 'pin' | 'so-pin' | null;

/**
 * Back up keys / Restore keys (issue 11), in the Renew key workspace: the set whose shares the ceremony
 * takes, read aloud; k shares through the workspace's one share entry; the PIN(s); then what the core did.
 * Backup: the keys wrapped into the file, the keys that cannot leave their token (never extractable), the
 * record. Restore: the keys put back and the core's self-check. Refusals show as `error[CODE]` lines.
 */
export function BackupRestore({ mode, shell, modes, onOpenRecord }: { mode: Exclude<QuorumMode, 'renew'>; shell: Shell; modes: ReactNode; onOpenRecord(view: AuditView): void }) {
  const [view, setView] = useState<BackupSessionView | RestoreSessionView | null>(null);
  const [accepted, setAccepted] = useState<ShareAccepted[]>([]);
  const [backup, setBackup] = useState<BackupOutcome | null>(null);
  const [restore, setRestore] = useState<RestoreOutcome | null>(null);
  const [error, setError] = useState<IpcError | null>(null);
  const [running, setRunning] = useState(false);
  const [asking, setAsking] = useState<Asking>(null);
  const [steps, setSteps] = useState<StepStates>({});
  // The fresh token's SO PIN, held only between its dialog and the PIN dialog that follows.
  const soPin = useRef<string | undefined>(undefined);

  const STEPS = mode === 'backup' ? BACKUP_STEPS : RESTORE_STEPS;
  const title = mode === 'backup' ? 'Back up keys' : 'Restore keys';
  const airOk = shell.airGap ? shell.airGap.airGapped || shell.airGap.overridden : false;
  const states: StepStates = {
    'air-gap-check': shell.airGap ? (airOk ? 'done' : 'failed') : 'pending',
    'load-config': shell.config ? (view ? 'done' : 'active') : 'active',
    ...steps,
  };
  const onStep = useCallback((step: string) => setSteps((s) => advance(s, step, STEPS)), [STEPS]);

  const guard = (what: () => Promise<void>) => guarded(setError, what);

  const open = () =>
    guard(async () => {
      setAccepted([]);
      setBackup(null);
      setRestore(null);
      setSteps({});
      const v = mode === 'backup' ? await call(api().backupOpen()) : await call(api().restoreOpen());
      setView(v);
      if (v) setSteps({ 'share-accepted': 'active' });
    });

  const received = (r: ShareAccepted) => {
    setAccepted((a) => [...a, r]);
    if (r.have >= r.need) setSteps((s) => ({ ...s, 'share-accepted': 'done' }));
  };

  const run = (pin: string) => {
    setAsking(null);
    const so = soPin.current;
    soPin.current = undefined;
    setRunning(true);
    void guard(async () => {
      try {
        if (mode === 'backup') setBackup(await call(api().backupRun({ signingPin: pin })));
        else setRestore(await call(api().restoreRun({ signingPin: pin, soPin: so ?? '' })));
        setSteps(Object.fromEntries(STEPS.filter((s) => s.id !== 'air-gap-check' && s.id !== 'load-config').map((s) => [s.id, 'done'])));
      } catch (e) {
        setSteps((s) => {
          const active = Object.entries(s).find(([, v]) => v === 'active')?.[0] ?? 'quorum-reached';
          return { ...s, [active]: 'failed' };
        });
        // main ended the session: the backup file is chosen and the shares presented again.
        setAccepted([]);
        setView(null);
        throw e;
      } finally {
        setRunning(false);
      }
    });
  };

  const openRecord = () =>
    guard(async () => {
      const v = await call(api().signOpenRecord());
      if (v) onOpenRecord(v);
    });

  const done = backup ?? restore;
  return (
    <div className="ceremony">
      <StepList title={title} steps={STEPS} states={states} />
      <div className="work">
        <h2>Renew key</h2>
        {modes}
        <h3>{title}</h3>
        {mode === 'backup' ? (
          <p>
            k custodians and a maintainer wrap every backup-able key of both tokens into one file that opens only with shares of the set in force. Keep copies apart from
            the tokens (README: Backup and restore).
          </p>
        ) : (
          <p>
            After a token is lost: the operators initialise a fresh signing token as for <code>init</code>; k custodians of the set the backup was made under put every
            key back onto it and onto a new root token.
          </p>
        )}
        <p>
          <button type="button" className="primary" disabled={!shell.config || running} onClick={() => void open()}>
            {mode === 'backup' ? 'Choose where to write the backup…' : 'Open the backup file…'}
          </button>
        </p>
        <ErrorLine error={error} />
        {view && !done && (
          <div className="readaloud">
            <h4>Quorum set</h4>
            <Fingerprint value={view.setId.replace(/-/g, '')} label="quorum set ID" />
            <p>
              Shares needed: {view.threshold} of {view.custodians.length} ({view.custodians.join(', ')}).
            </p>
            {view.purpose === 'backup' ? (
              <p>
                Backing up tokens <code>{view.rootToken}</code> and <code>{view.signingToken}</code> into <code>{view.savesAs}</code>.
              </p>
            ) : (
              <p>
                Backup <code>{view.file}</code>, made {formatInstant(view.created)}; restoring onto a new root token <code>{view.rootToken}</code> and the fresh signing token{' '}
                <code>{view.signingToken}</code>. The file is authenticated once the shares are in.
              </p>
            )}
          </div>
        )}
        {view && !done && (
          <ShareEntry accepted={accepted} need={view.threshold} guard={guard} onAccepted={received}>
            <p>
              <button type="button" className="primary" disabled={running} onClick={() => setAsking(mode === 'backup' ? 'pin' : 'so-pin')}>
                {mode === 'backup' ? 'Back up the keys…' : 'Restore the keys…'}
              </button>
            </p>
          </ShareEntry>
        )}
        <JobProgress running={running} onStep={onStep} />
        {backup && (
          <div className="quorum-result">
            <h4>Backed up</h4>
            <ul aria-label="Keys backed up">
              {backup.keys.map((k) => (
                <li key={`${k.token}/${k.label}`}>
                  ✓ {k.token}: {k.label} [{k.role}]
                </li>
              ))}
            </ul>
            {backup.notBackedUp.length > 0 && (
              <>
                <h4>Not backed up</h4>
                <ul aria-label="Keys not backed up" className="warning">
                  {backup.notBackedUp.map((k) => (
                    <li key={`${k.token}/${k.label}`}>
                      {k.token}: {k.label}: {k.reason}
                    </li>
                  ))}
                </ul>
              </>
            )}
            <p data-testid="backup-file">
              Backup file <code>{backup.savedAs}</code>: it opens only with shares of set {backup.setId}.
            </p>
          </div>
        )}
        {restore && (
          <div className="quorum-result">
            <h4>Restored</h4>
            <ul aria-label="Keys restored">
              {restore.restored.map((k) => (
                <li key={`${k.token}/${k.label}`}>
                  ✓ {k.token}: {k.label} [{k.role}]
                </li>
              ))}
            </ul>
            <p data-testid="self-check">Self-check: {restore.selfCheck}.</p>
          </div>
        )}
        {done && (
          <p className="quorum-result">
            Record <code>{done.record.folder}</code> <button type="button" onClick={() => void openRecord()}>Open the record</button>
          </p>
        )}
      </div>
      <SecretDialog
        open={asking !== null}
        title={asking === 'so-pin' ? 'Fresh signing token SO PIN' : 'Signing token PIN'}
        label={asking === 'so-pin' ? 'SO PIN (as the operators set it)' : 'PIN'}
        submit={asking === 'so-pin' ? 'Next' : mode === 'backup' ? 'Back up' : 'Restore'}
        onSubmit={(s) => {
          if (asking === 'so-pin') {
            soPin.current = s;
            setAsking('pin');
          } else run(s);
        }}
        onCancel={() => {
          soPin.current = undefined;
          setAsking(null);
        }}
      />
    </div>
  );
}
