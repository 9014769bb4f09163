import type { StepDef, StepStates } from '../steps.js';

const MARK = { pending: '○', active: '▶', done: '✓', failed: '✗' } as const;

/** The ceremony script as a checklist, visible beside every workspace. */
export function StepList({ title, steps, states }: { title: string; steps: readonly StepDef[]; states: StepStates }) {
  return (
    <nav className="steps" aria-label={`${title} steps`}>
      <h2>{title}</h2>
      <ol>
        {steps.map((s) => {
          const state = states[s.id] ?? 'pending';
          return (
            <li key={s.id} className={`step step-${state}`} aria-current={state === 'active' ? 'step' : undefined} data-step={s.id} data-state={state}>
              <span className="mark" aria-hidden="true">
                {MARK[state]}
              </span>
              <span>{s.label}</span>
              <span className="visually-hidden"> ({state})</span>
            </li>
          );
        })}
      </ol>
    </nav>
  );
}
