import { useState } from 'react';
import type { AuditView, ExportedReport, IpcError } from '../../../main/ipc-contract.js';
import { api, call, guarded } from '../api.js';
import { ErrorLine } from '../components/ErrorLine.js';
import { Fingerprint } from '../components/Fingerprint.js';
import { StepList } from '../components/StepList.js';
import { AUDIT_STEPS, type StepStates } from '../steps.js';
import { VerdictBadge } from './VerdictBadge.js';

/**
 * Audit (DESIGN §3 Review): a record's verdict, timeline and findings; the report as HTML or PDF. The
 * auditor may pin the certificate that seals the records (without it the seal is checked only against
 * the keys the record itself carries) and point at the folder where the ceremony's files now are.
 */
export function Audit({ view, onView }: { view: AuditView | null; onView(v: AuditView): void }) {
  const [error, setError] = useState<IpcError | null>(null);
  const [exported, setExported] = useState<ExportedReport[]>([]);
  const states: StepStates = view
    ? { 'load-config': 'done', 'verify-input': 'done', confirm: 'done', 'ceremony-end': view.verdict === 'intact' || view.verdict === 'refused' ? 'done' : 'failed' }
    : { 'load-config': 'active' };

  const guard = (what: () => Promise<void>) => guarded(setError, what);
  const open = () =>
    guard(async () => {
      const v = await call(api().auditOpen());
      if (v) {
        setExported([]);
        onView(v);
      }
    });
  const pin = () =>
    guard(async () => {
      const r = await call(api().auditPinCertificate());
      if (r?.review) onView(r.review);
    });
  const chooseArtifacts = () =>
    guard(async () => {
      const r = await call(api().auditChooseArtifacts());
      if (r?.review) onView(r.review);
    });
  const exportAs = (format: 'html' | 'pdf') =>
    guard(async () => {
      const r = await call(api().auditExport({ format }));
      if (r) setExported((x) => [...x, r]);
    });

  return (
    <div className="ceremony">
      <StepList title="Audit" steps={AUDIT_STEPS} states={states} />
      <div className="work">
        <h2>Audit</h2>
        <p>
          <button type="button" className="primary" onClick={() => void open()}>
            Open a record…
          </button>{' '}
          <button type="button" onClick={() => void pin()}>
            Pin a certificate…
          </button>
        </p>
        <ErrorLine error={error} />
        {view && (
          <>
            <VerdictBadge view={view} />
            <p className="headline" data-testid="headline">
              <strong>{view.headline}</strong>
            </p>
            <p data-testid="summary">{view.summary}</p>
            <p className="wrap">
              {view.ceremony} — <code>{view.folder}</code>
            </p>
            <h3>Seal</h3>
            {view.verdict === 'refused-unsealed' ? (
              <p className="warning" data-testid="unsealed-refusal">
                Not sealed: no key that could seal this record could be reached (the summary above says why: a PIN the token refused, or a
                restore that had not yet restored any key), and a record is never sealed with a key anyone could use without a PIN. The log is
                whole and ends with the refusal, but nothing proves who wrote it or that nothing was cut from it: it does not pass.
              </p>
            ) : view.pinnedCertificate ? (
              <div data-testid="pinned-certificate">
                <p>
                  Checked against the pinned certificate <code>{view.pinnedCertificate.file}</code> ({view.pinnedCertificate.userIds.join(', ')}):
                </p>
                <Fingerprint value={view.pinnedCertificate.fingerprint} label="pinned certificate fingerprint" />
              </div>
            ) : (
              <p className="warning" data-testid="seal-not-pinned">
                No certificate is pinned: the seal was checked only against the keys the record itself carries, which whoever rewrote the record could
                have replaced. Pin the root certificate to know who sealed it.
              </p>
            )}
            <h3>Policy</h3>
            <ul className="policy" aria-label="Policy checks">
              {view.policy.map((c) => (
                <li key={c.title} className={`policy-${c.outcome}`}>
                  <strong>{c.outcome}</strong> {c.title}: {c.detail}
                </li>
              ))}
            </ul>
            <h3>Findings</h3>
            {view.findings.length === 0 ? (
              <p>No findings.</p>
            ) : (
              <ul className="findings" aria-label="Findings">
                {view.findings.map((f, i) => (
                  <li key={i} className={`finding-${f.severity}`}>
                    <strong>
                      {f.severity} [{f.code}]
                    </strong>{' '}
                    {f.message}
                    {f.line ? ` (line ${f.line})` : ''}
                  </li>
                ))}
              </ul>
            )}
            <h3>Artifacts</h3>
            <p>
              {view.artifactsFolder ? (
                <>
                  Looked for in <code>{view.artifactsFolder}</code>.{' '}
                </>
              ) : (
                'Looked for where the ceremony wrote them. '
              )}
              <button type="button" onClick={() => void chooseArtifacts()}>
                Check the artifacts in a folder…
              </button>
            </p>
            {view.artifacts.length > 0 && (
              <table className="artifacts" aria-label="Artifacts">
                <colgroup>
                  <col className="col-role" />
                  <col className="col-name" />
                  <col className="col-check" />
                  <col />
                </colgroup>
                <thead>
                  <tr>
                    <th scope="col">Role</th>
                    <th scope="col">Name</th>
                    <th scope="col">Check</th>
                    <th scope="col">Looked at</th>
                  </tr>
                </thead>
                <tbody>
                  {view.artifacts.map((a) => (
                    <tr key={`${a.role}:${a.name}`} data-artifact={a.name} data-status={a.status} className={`artifact-${a.status}`}>
                      <td>{a.role}</td>
                      <th scope="row">{a.name}</th>
                      <td>
                        <strong>{a.status}</strong>
                      </td>
                      <td>
                        <code>{a.lookedAt}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <h3>Timeline</h3>
            <table className="timeline" aria-label="Timeline">
              <colgroup>
                <col className="col-seq" />
                <col className="col-time" />
                <col className="col-step" />
                <col className="col-actor" />
                <col className="col-result" />
                <col />
              </colgroup>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Time</th>
                  <th scope="col">Step</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Result</th>
                  <th scope="col">Detail</th>
                </tr>
              </thead>
              <tbody>
                {view.timeline.map((t) => (
                  <tr key={t.seq} className={`result-${t.result}`}>
                    <td>{t.seq}</td>
                    <td>{t.time}</td>
                    <td>{t.step}</td>
                    <td>{t.actor}</td>
                    <td>{t.result}</td>
                    <td>{t.detail}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p>
              <button type="button" onClick={() => void exportAs('html')}>
                Export report (HTML)…
              </button>{' '}
              <button type="button" onClick={() => void exportAs('pdf')}>
                Export report (PDF)…
              </button>
            </p>
            <ul aria-label="Exported reports">
              {exported.map((x) => (
                <li key={x.savedAs}>
                  {x.format.toUpperCase()} saved as <code>{x.savedAs}</code>
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
    </div>
  );
}
