/**
 * The record's side of builder agreement and provenance (issue 15): one 'builder-agreement' event per input, naming the
 * builders that agreed, disagreed and were missing, with the input's SHA-256, so `audit verify` can check that
 * every signed input had K agreeing builders (audit/agreement-policy.ts).
 */
import { basename } from 'node:path';
import { describeVerdict } from '../release/agreement.js';
import type { FileVerification } from '../release/verify-release.js';
import type { CeremonyRun } from './runner.js';

export function recordAgreement(run: CeremonyRun, verified: readonly FileVerification[]): void {
  for (const r of verified) {
    const a = r.agreement;
    if (!a) continue;
    const refused = !a.met;
    run.note('builder-agreement', {
      result: refused ? 'refused' : 'ok',
      ...(refused && r.code ? { code: r.code } : {}),
      detail: `${basename(r.file)}: ${a.agreed.length} of ${a.builders.length} builders agree (${a.threshold} required); ${a.builders.map(describeVerdict).join('; ')}`.slice(0, 500),
      ...(r.sha256 ? { inputs: [{ name: basename(r.file), sha256: r.sha256, ...(r.size !== null ? { size: r.size } : {}) }] } : {}),
      agreement: { threshold: a.threshold, agreed: a.agreed, disagreed: a.disagreed, missing: a.missing },
    });
  }
}

/** One 'provenance-check' event per input checked against the provenance policy: what was established. */
export function recordProvenance(run: CeremonyRun, verified: readonly FileVerification[]): void {
  for (const r of verified) {
    const p = r.provenance;
    if (!p) continue;
    const by = p.trustedBy.kind === 'dsse-key' ? `DSSE key ${p.trustedBy.keyid}` : `listed in ${basename(p.trustedBy.digests)}`;
    run.note('provenance-check', {
      detail: `${basename(r.file)}: provenance ${basename(p.source)} (trusted by ${by}) built by ${p.builderId} from ${p.repository} ${p.ref}`.slice(0, 500),
      ...(r.sha256 ? { inputs: [{ name: basename(r.file), sha256: r.sha256, ...(r.size !== null ? { size: r.size } : {}) }] } : {}),
    });
  }
}
