/** The review's builder-agreement rule (issue 15) on hand-made event sequences. */
import { describe, expect, it } from 'vitest';
import { buildersAgreedBeforeSigning, provenanceCheckedBeforeSigning } from '../../../ceremony/audit/agreement-policy.js';
import type { CeremonyEvent, CeremonyParameters, NumberedEvent } from '../../../ceremony/audit/events.js';
import type { Finding } from '../../../ceremony/audit/findings.js';

const SHA = 'a'.repeat(64);
const input = { name: 'image.bin', sha256: SHA };
const rule = { threshold: 2, members: [{ name: 'alpha', fingerprints: [] }, { name: 'beta', fingerprints: [] }, { name: 'gamma', fingerprints: [] }] };
const params = { builders: rule } as unknown as CeremonyParameters;

function ev(line: number, e: Partial<CeremonyEvent>): NumberedEvent {
  return { line, event: { result: 'ok', ...e } as CeremonyEvent };
}
const agreement = (agreed: string[], disagreed: string[] = []) => ev(2, { step: 'builder-agreement', inputs: [input], agreement: { threshold: 2, agreed, disagreed, missing: [] } });
const signing = ev(3, { step: 'sign', inputs: [input] });

function check(events: NumberedEvent[], p: CeremonyParameters | undefined = params): { outcome: string; findings: Finding[] } {
  const findings: Finding[] = [];
  return { outcome: buildersAgreedBeforeSigning(events, p, findings).outcome, findings };
}

describe('builders-agreed-before-signing', () => {
  it('passes when K builders of the rule agreed on the signed input first', () => {
    expect(check([agreement(['alpha', 'beta']), signing]).outcome).toBe('pass');
  });
  it('fails a signature made with no agreement on record (agreement step skipped)', () => {
    const r = check([signing]);
    expect(r.outcome).toBe('fail');
    expect(r.findings[0]!.code).toBe('policy-builders-not-agreed');
  });
  it('fails an agreement recorded as met with fewer builders than the rule at the start requires', () => {
    expect(check([agreement(['alpha']), signing]).outcome).toBe('fail');
  });
  it('does not count builder names the rule does not list (a forged name)', () => {
    expect(check([agreement(['alpha', 'mallory']), signing]).outcome).toBe('fail');
  });
  it('fails an agreement recorded as met despite a disagreeing builder', () => {
    expect(check([agreement(['alpha', 'beta'], ['gamma']), signing]).outcome).toBe('fail');
  });
  it('fails when the agreement came after the signature', () => {
    expect(check([ev(1, { step: 'sign', inputs: [input] }), agreement(['alpha', 'beta'])]).outcome).toBe('fail');
  });
  it('is not applicable without a rule on line 1', () => {
    expect(check([signing], {} as CeremonyParameters).outcome).toBe('not-applicable');
  });
});

describe('provenance-checked-before-signing', () => {
  const withPolicy = { provenance: { keyids: [], builderIds: [], repository: 'r', refPattern: '.+' } } as unknown as CeremonyParameters;
  const run = (events: NumberedEvent[]) => {
    const findings: Finding[] = [];
    return { outcome: provenanceCheckedBeforeSigning(events, withPolicy, findings).outcome, findings };
  };
  it('passes when the signed input had its provenance checked first', () => {
    expect(run([ev(2, { step: 'provenance-check', inputs: [input] }), signing]).outcome).toBe('pass');
  });
  it('fails a signature made without a provenance check on record (check skipped)', () => {
    const r = run([signing]);
    expect(r.outcome).toBe('fail');
    expect(r.findings[0]!.code).toBe('policy-provenance-not-checked');
  });
  it('fails when the provenance checked was for other bytes', () => {
    expect(run([ev(2, { step: 'provenance-check', inputs: [{ name: 'image.bin', sha256: 'b'.repeat(64) }] }), signing]).outcome).toBe('fail');
  });
});
