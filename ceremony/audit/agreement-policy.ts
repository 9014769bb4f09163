/**
 * Review rule for builder agreement (issue 15): when line 1 states a builders rule, every input a 'sign' step
 * used must have had, earlier in the record, an ok 'builder-agreement' event for the same SHA-256 in which at
 * least `threshold` distinct builders of that rule agreed and none disagreed. The record is checked against the
 * rule it committed to at its start, not against what the agreement event claims the threshold was.
 */
import type { CeremonyParameters, NumberedEvent } from './events.js';
import { finding, type Finding, type PolicyCheck } from './findings.js';

export function buildersAgreedBeforeSigning(events: NumberedEvent[], parameters: CeremonyParameters | undefined, findings: Finding[]): PolicyCheck {
  const name = 'builders-agreed-before-signing';
  const title = 'K independent builders agreed on every signed input';
  const rule = parameters?.builders;
  if (!rule) return { name, title, outcome: 'not-applicable', detail: 'no builder-agreement rule was in force' };
  const members = new Set(rule.members.map((m) => m.name));
  const agreedOn = new Set<string>();
  let signs = 0;
  let bad = 0;
  for (const { line, event } of events) {
    if (event.step === 'builder-agreement' && event.result === 'ok' && event.agreement) {
      const a = event.agreement;
      const agreed = new Set(a.agreed.filter((n) => members.has(n)));
      if (agreed.size >= rule.threshold && a.disagreed.length === 0) for (const i of event.inputs ?? []) agreedOn.add(i.sha256);
      else {
        bad++;
        findings.push(finding('policy-builders-not-agreed', `line ${line}: a builder agreement recorded as met has ${agreed.size} agreeing builder(s) of the rule (threshold ${rule.threshold}) and ${a.disagreed.length} disagreeing`, line));
      }
    }
    if (event.step !== 'sign' || event.result !== 'ok') continue;
    signs++;
    for (const i of event.inputs ?? []) {
      if (!agreedOn.has(i.sha256)) {
        bad++;
        findings.push(finding('policy-builders-not-agreed', `line ${line}: ${i.name} (sha256 ${i.sha256.slice(0, 16)}…) was signed without ${rule.threshold} agreeing builders on record`, line));
      }
    }
  }
  if (signs === 0 && bad === 0) return { name, title, outcome: 'not-applicable', detail: 'no signature was made' };
  return bad === 0
    ? { name, title, outcome: 'pass', detail: `${signs} signing step(s), each input agreed by at least ${rule.threshold} of ${rule.members.length} builders` }
    : { name, title, outcome: 'fail', detail: `${bad} problem(s)` };
}

/** When line 1 states a provenance policy, every signed input has an earlier ok 'provenance-check' with its SHA-256. */
export function provenanceCheckedBeforeSigning(events: NumberedEvent[], parameters: CeremonyParameters | undefined, findings: Finding[]): PolicyCheck {
  const name = 'provenance-checked-before-signing';
  const title = 'the provenance of every signed input checked against the policy';
  if (!parameters?.provenance) return { name, title, outcome: 'not-applicable', detail: 'no provenance policy was in force' };
  const checked = new Set<string>();
  let signs = 0;
  let bad = 0;
  for (const { line, event } of events) {
    if (event.step === 'provenance-check' && event.result === 'ok') for (const i of event.inputs ?? []) checked.add(i.sha256);
    if (event.step !== 'sign' || event.result !== 'ok') continue;
    signs++;
    for (const i of event.inputs ?? []) {
      if (checked.has(i.sha256)) continue;
      bad++;
      findings.push(finding('policy-provenance-not-checked', `line ${line}: ${i.name} (sha256 ${i.sha256.slice(0, 16)}…) was signed without its provenance checked first`, line));
    }
  }
  if (signs === 0) return { name, title, outcome: 'not-applicable', detail: 'no signature was made' };
  return bad === 0 ? { name, title, outcome: 'pass', detail: `${signs} signing step(s), each input's provenance checked first` } : { name, title, outcome: 'fail', detail: `${bad} input(s) signed without a provenance check` };
}
