/** `ceremony audit verify` and `ceremony audit report` (DESIGN §3 Review, §5): thin shells over ceremony/audit. */
import type { Command } from 'commander';
import { CeremonyError } from '../../errors.js';
import { readInputFile, writeFileAtomic } from '../../files.js';
import { reviewRecord, verdictPasses, type Review } from '../../audit/review.js';
import { resolve } from 'node:path';
import { renderReport } from '../../audit/report.js';
import type { CliContext } from '../context.js';

interface VerifyOpts {
  trustedKey?: string[];
  artifacts?: string;
}

interface ReportOpts {
  out: string;
  trustedKey?: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function trustedCertificates(paths: string[] | undefined): string[] | undefined {
  if (!paths?.length) return undefined;
  return paths.map((p) => readInputFile(p, 'trusted certificate', 1024 * 1024).toString('utf8'));
}

/** Everything but notes stops the record from passing. */
function problems(review: Review) {
  return review.findings.filter((f) => f.class !== 'note');
}

function reviewJson(review: Review): Record<string, unknown> {
  return {
    verdict: review.verdict,
    headline: review.headline,
    pinned: review.pinned,
    ...(review.refusal ? { refusal: review.refusal } : {}),
    summary: review.summary,
    ceremonyId: review.ceremonyId,
    kind: review.kind,
    outcome: review.outcome,
    lastStep: review.lastStep,
    lines: review.lineCount,
    seal: review.seal,
    policy: review.policy,
    artifacts: review.artifacts.map((a) => ({ ...a.artifact, status: a.status, lookedAt: a.lookedAt })),
    findings: review.findings,
  };
}

function failure(review: Review): CeremonyError {
  const n = problems(review).length;
  // An unsealed refusal has one finding, the missing seal; its summary says what was refused and why unsealed.
  const what = review.verdict === 'refused-unsealed' ? `a refusal left unsealed: ${review.summary}` : `${review.verdict === 'policy-violation' ? 'a policy violation' : review.verdict}: ${n} finding(s), first: ${problems(review)[0]?.message ?? review.summary}`;
  return new CeremonyError('AUDIT_FAILED', `the record is ${what}`, {
    details: reviewJson(review),
  });
}

export function registerAudit(program: Command, ctxFor: (json: boolean) => CliContext): void {
  const audit = program.command('audit').description("review ceremony records: the auditor's checks and report");

  audit
    .command('verify')
    .description('check a record: hash chain, sequence, seal, manifest and artifacts, policy; exit 0 only if intact (or refused as policy says) and policy holds')
    .argument('<record>', 'the record folder (holding log.jsonl)')
    .option('--trusted-key <cert.asc>', 'pin the certificate whose key must have sealed the record (repeatable); without it the verdict says "seal not pinned"', collect)
    .option('--artifacts <dir>', 'look for the inputs and outputs by name in this folder (e.g. on another machine) instead of where the ceremony wrote them')
    .action(async (record: string, opts: VerifyOpts, cmd: Command) => {
      const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
      const review = await reviewRecord(record, { trustedCertificates: trustedCertificates(opts.trustedKey), ...(opts.artifacts ? { artifactsDir: resolve(ctx.cwd, opts.artifacts) } : {}) });
      const ok = verdictPasses(review.verdict);
      ctx.out.line(review.summary);
      for (const c of review.policy) ctx.out.line(`  policy ${c.outcome.padEnd(14)} ${c.title}: ${c.detail}`);
      for (const f of review.findings) ctx.out.line(`  ${f.class.padEnd(10)} ${f.code}${f.line ? ` (line ${f.line})` : ''}: ${f.message}`);
      // --json: one document on stdout either way; a failed review travels in the error's details.
      if (!ok) throw failure(review);
      ctx.out.result({ ok: true, ...reviewJson(review) });
    });

  audit
    .command('report')
    .description('write a self-contained HTML report of a record (verdict, timeline, participants, keys, artifacts, policy, findings)')
    .argument('<record>', 'the record folder (holding log.jsonl)')
    .requiredOption('--out <file.html>', 'where to write the report')
    .option('--trusted-key <cert.asc>', 'pin the certificate whose key must have sealed the record (repeatable)', collect)
    .option('--artifacts <dir>', 'look for the inputs and outputs by name in this folder instead of where the ceremony wrote them')
    .action(async (record: string, opts: ReportOpts & { artifacts?: string }, cmd: Command) => {
      const ctx = ctxFor(Boolean(cmd.optsWithGlobals().json));
      const review = await reviewRecord(record, { trustedCertificates: trustedCertificates(opts.trustedKey), ...(opts.artifacts ? { artifactsDir: resolve(ctx.cwd, opts.artifacts) } : {}) });
      writeFileAtomic(opts.out, renderReport(review, ctx.now()));
      ctx.out.result({ ok: true, out: opts.out, verdict: review.verdict, headline: review.headline, summary: review.summary, findings: review.findings.length });
      // The summary starts with the verdict already: print it once.
      ctx.out.line(`report written to ${opts.out}: ${review.summary}`);
    });
}
