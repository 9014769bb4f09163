import { useState } from 'react';
import type { AuditView, ExportedReport, IpcError } from '../../../main/ipc-contract.js';
import { api, call, errorOf } from '../api.js';
import { ErrorLine } from '../components/ErrorLine.js';
import { StepList } from '../components/StepList.js';
import { AUDIT_STEPS, type StepStates } from '../steps.js';

/** Audit (DESIGN §3 Review): a record's verdict, timeline and findings; the report as HTML or PDF. */
export function Audit({ view, onView }: { view: AuditView | null; onView(v: AuditView): void }) {
  const [error, setError] = useState<IpcError | null>(null);
  const [exported, setExported] = useState<ExportedReport[]>([]);
  const states: StepStates = view
    ? { 'load-config': 'done', 'verify-input': 'done', confirm: 'done', 'ceremony-end': view.verdict === 'intact' ? 'done' : 'failed' }
    : { 'load-config': 'active' };

  const open = async () => {
    setError(null);
    try {
      const v = await call(api().auditOpen());
      if (v) {
        setExported([]);
        onView(v);
      }
    } catch (e) {
      setError(errorOf(e));
    }
  };
  const exportAs = async (format: 'html' | 'pdf') => {
    setError(null);
    try {
      const r = await call(api().auditExport({ format }));
      if (r) setExported((x) => [...x, r]);
    } catch (e) {
      setError(errorOf(e));
    }
  };

  return (
    <div className="ceremony">
      <StepList title="Audit" steps={AUDIT_STEPS} states={states} />
      <div className="work">
        <h2>Audit</h2>
        <p>
          <button type="button" className="primary" onClick={() => void open()}>
            Open a record…
          </button>
        </p>
        <ErrorLine error={error} />
        {view && (
          <>
            <p className={`verdict verdict-${view.verdict === 'intact' ? 'intact' : 'failed'}`} data-testid="verdict" data-verdict={view.verdict}>
              {view.verdict.toUpperCase()}
            </p>
            <p data-testid="summary">{view.summary}</p>
            <p>
              {view.ceremony} — <code>{view.folder}</code>
            </p>
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
            <h3>Timeline</h3>
            <table className="timeline" aria-label="Timeline">
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
