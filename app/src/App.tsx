import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { AirGapView, AuditView, ConfigView, IpcError } from '../../main/ipc-contract.js';
import { api, call, errorOf } from './api.js';
import { ErrorLine } from './components/ErrorLine.js';
import { Audit } from './workspaces/Audit.js';
import { RenewKey } from './workspaces/RenewKey.js';
import { SignUpdate } from './workspaces/SignUpdate.js';
import type { Shell } from './shell.js';

const WORKSPACES = [
  { id: 'sign', label: 'Sign update' },
  { id: 'renew', label: 'Renew key' },
  { id: 'audit', label: 'Audit' },
] as const;
type WorkspaceId = (typeof WORKSPACES)[number]['id'];

export function App() {
  const [airGap, setAirGap] = useState<AirGapView | null>(null);
  const [config, setConfig] = useState<ConfigView | null>(null);
  const [error, setError] = useState<IpcError | null>(null);
  const [active, setActive] = useState<WorkspaceId>('sign');
  const [audit, setAudit] = useState<AuditView | null>(null);
  const tabs = useRef<(HTMLButtonElement | null)[]>([]);

  useEffect(() => {
    call(api().airGapStatus()).then(setAirGap, (e) => setError(errorOf(e)));
  }, []);

  const openConfig = useCallback(async () => {
    setError(null);
    try {
      const c = await call(api().configOpen());
      if (c) setConfig(c);
    } catch (e) {
      setError(errorOf(e));
    }
  }, []);

  const override = useCallback(async () => {
    try {
      setAirGap(await call(api().airGapOverride({ allowNetwork: true, acknowledgement: 'I accept that this machine is networked' })));
    } catch (e) {
      setError(errorOf(e));
    }
  }, []);

  // Arrow keys move between tabs (WAI-ARIA tabs pattern); Tab moves into the panel.
  const onTabKey = (e: KeyboardEvent, i: number) => {
    const next = e.key === 'ArrowRight' ? (i + 1) % WORKSPACES.length : e.key === 'ArrowLeft' ? (i + WORKSPACES.length - 1) % WORKSPACES.length : -1;
    if (next < 0) return;
    e.preventDefault();
    setActive(WORKSPACES[next]!.id);
    tabs.current[next]?.focus();
  };

  const shell: Shell = { config, airGap };
  return (
    <div className="app">
      <header>
        <h1>Signing ceremony</h1>
        <div className="config">
          {config ? (
            <span data-testid="config-loaded">
              {config.identity} — quorum {config.threshold} of {config.custodians.length}
            </span>
          ) : (
            <span>No configuration open</span>
          )}
          <button type="button" onClick={() => void openConfig()}>
            Open configuration…
          </button>
        </div>
      </header>
      {airGap && !airGap.airGapped && <NetworkBanner airGap={airGap} active={active} onOverride={() => void override()} />}
      <ErrorLine error={error} />
      <div role="tablist" aria-label="Workspaces" className="tabs">
        {WORKSPACES.map((w, i) => (
          <button
            key={w.id}
            ref={(el) => {
              tabs.current[i] = el;
            }}
            role="tab"
            id={`tab-${w.id}`}
            aria-selected={active === w.id}
            aria-controls={`panel-${w.id}`}
            tabIndex={active === w.id ? 0 : -1}
            onClick={() => setActive(w.id)}
            onKeyDown={(e) => onTabKey(e, i)}
          >
            {w.label}
          </button>
        ))}
      </div>
      {WORKSPACES.map((w) => (
        <section key={w.id} role="tabpanel" id={`panel-${w.id}`} aria-labelledby={`tab-${w.id}`} hidden={active !== w.id} className="workspace">
          {w.id === 'sign' && <SignUpdate shell={shell} onOpenRecord={(v) => { setAudit(v); setActive('audit'); }} />}
          {w.id === 'renew' && <RenewKey shell={shell} onOpenRecord={(v) => { setAudit(v); setActive('audit'); }} />}
          {w.id === 'audit' && <Audit view={audit} onView={setAudit} />}
        </section>
      ))}
    </div>
  );
}

/**
 * The network warning, worded for the workspace it is shown on: signing and renewal are ceremonies and are
 * refused on a networked machine until the operator overrides (recorded); reviewing a record is not a
 * ceremony and works either way.
 */
function NetworkBanner({ airGap, active, onOverride }: { airGap: AirGapView; active: WorkspaceId; onOverride(): void }) {
  const up = airGap.interfacesUp.join(', ');
  if (active === 'audit') {
    return (
      <div className="banner banner-info" role="status" data-testid="airgap-banner">
        <span>
          This machine is networked ({up} up). Reviewing a record is not a ceremony and works here;{' '}
          {airGap.overridden ? 'signing and renewal go on with the network up, recorded.' : 'signing and renewal are refused until it is disconnected.'}
        </span>
      </div>
    );
  }
  const what = active === 'sign' ? 'Signing' : 'The renewal';
  if (airGap.overridden) {
    return (
      <div className="banner banner-override" role="alert" data-testid="airgap-banner">
        <span>This machine is networked ({up}). You chose to go on anyway; every ceremony record says so.</span>
      </div>
    );
  }
  return (
    <div className="banner banner-network" role="alert" data-testid="airgap-banner">
      <span>
        error[NETWORK_UP] This machine is networked ({up} up). {what} is refused until it is disconnected.
      </span>
      <button type="button" onClick={onOverride}>
        Go on with the network up (recorded)
      </button>
    </div>
  );
}
