import type { BuilderAgreementView, BuilderStateView } from '../../../main/ipc-contract.js';
import { Fingerprint } from './Fingerprint.js';

/** One builder's state in a few words; a disagreement names the digest the builder lists and the one the file has. */
function BuilderState({ b }: { b: BuilderStateView }) {
  if (b.state === 'agreed') return <>agreed</>;
  if (b.state === 'missing') return <>missing [{b.code}]</>;
  return (
    <>
      DISAGREED: lists {b.algorithm.toUpperCase()} <Fingerprint value={b.listed} label={`digest ${b.name} lists`} />, the file has{' '}
      <Fingerprint value={b.computed} label="digest the file has" />
    </>
  );
}

/**
 * How the config's independent builders stood on one file (issue 15): the rule "K of N" and each builder
 * agreed, disagreed or missing, as the CLI's verify and sign print them. A list that wraps inside the table's
 * width, so the workspace still fits 1280 px without horizontal scrolling.
 */
export function BuilderAgreement({ view, file }: { view: BuilderAgreementView; file: string }) {
  const agreed = view.builders.filter((b) => b.state === 'agreed').length;
  return (
    <div className="builders" data-testid={`builders-${file}`} data-met={String(view.met)}>
      <span className="builders-rule">
        Builders: {agreed} of {view.total} agree, {view.threshold} required
      </span>
      <ul>
        {view.builders.map((b) => (
          <li key={b.name} data-builder={b.name} data-state={b.state} className={`builder-${b.state}`} title={b.state === 'missing' ? b.reason : undefined}>
            <strong>{b.name}</strong>: <BuilderState b={b} />
          </li>
        ))}
      </ul>
    </div>
  );
}
