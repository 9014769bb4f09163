/**
 * The auditor's jobs: a record's review as the Audit workspace shows it, its HTML report, and the check of
 * a certificate the auditor pins. The review itself is the core's (ceremony/audit/review.ts), the same the
 * CLI's `audit verify` runs; this file only maps it to the IPC view.
 */
import { basename } from 'node:path';
import { renderReport } from '../../ceremony/audit/report.js';
import { reviewRecord, type ArtifactCheck, type Review } from '../../ceremony/audit/review.js';
import { CeremonyError } from '../../ceremony/errors.js';
import { readInputFile } from '../../ceremony/files.js';
import { MAX_CERTIFICATE_BYTES, parseCertificates } from '../../ceremony/openpgp/verify/certificate.js';
import type { ArtifactView, AuditView, PinnedCertificateView } from '../ipc-contract.js';
import type { AuditParams } from './protocol.js';

/** One pinned certificate file: exactly one OpenPGP public certificate (the core refuses secret keys). */
export async function readPinnedCertificate(file: string): Promise<{ view: Omit<PinnedCertificateView, 'file'>; armored: string }> {
  const certs = await parseCertificates(readInputFile(file, 'certificate', MAX_CERTIFICATE_BYTES), basename(file), new Date());
  if (certs.length !== 1) {
    throw new CeremonyError('CERTIFICATE_MALFORMED', `${basename(file)} holds ${certs.length} certificates; pin the one certificate whose key seals the records`);
  }
  const [c] = certs;
  return { view: { fingerprint: c!.description.fingerprint, userIds: c!.description.userIDs }, armored: c!.key.armor() };
}

/**
 * The core's review: the seal against the pinned certificates (none: the record's own keys/, and the
 * headline says "seal not pinned"), the artifacts looked up by name in `artifactsDir` when the auditor
 * chose one (the core's `audit verify --artifacts DIR`).
 */
async function review(params: AuditParams): Promise<Review> {
  const trustedCertificates = await Promise.all(
    params.trustedKeys.map(async ({ file, fingerprint }) => {
      // Read again for each review: the file must still hold the certificate the auditor saw pinned.
      const c = await readPinnedCertificate(file);
      if (c.view.fingerprint !== fingerprint) throw new CeremonyError('CERTIFICATE_MALFORMED', `${basename(file)} changed since it was pinned; pin it again`);
      return c.armored;
    }),
  );
  return reviewRecord(params.folder, { ...(trustedCertificates.length ? { trustedCertificates } : {}), ...(params.artifactsDir ? { artifactsDir: params.artifactsDir } : {}) });
}

function artifactView(a: ArtifactCheck): ArtifactView {
  return { role: a.artifact.role, name: a.artifact.name, status: a.status, lookedAt: a.lookedAt };
}

export function toAuditView(r: Review, artifactsFolder: string | null): Omit<AuditView, 'pinnedCertificate'> {
  return {
    folder: r.dir,
    ceremony: `${r.kind ?? 'unknown'} ${r.ceremonyId ?? ''} (${r.outcome})`.replace(/\s+/g, ' '),
    verdict: r.verdict,
    headline: r.headline,
    summary: r.summary,
    seal: { present: r.seal.present, valid: r.seal.valid, pinned: r.seal.pinned, ...(r.seal.signerFingerprint ? { signer: r.seal.signerFingerprint } : {}) },
    artifactsFolder,
    artifacts: r.artifacts.map(artifactView),
    timeline: r.events.map(({ event: e }) => ({
      seq: e.seq,
      time: e.time,
      step: e.step,
      actor: e.actor.name ? `${e.actor.role} ${e.actor.name}` : e.actor.role,
      result: e.result,
      detail: e.detail,
    })),
    policy: r.policy.map((c) => ({ title: c.title, outcome: c.outcome, detail: c.detail })),
    findings: r.findings.map((f) => ({ severity: f.class === 'note' ? 'info' : 'error', code: f.code, message: f.message, ...(f.line ? { line: f.line } : {}) })),
  };
}

export async function auditReview(params: AuditParams): Promise<Omit<AuditView, 'pinnedCertificate'>> {
  return toAuditView(await review(params), params.artifactsDir ?? null);
}

export async function auditReport(params: AuditParams): Promise<{ html: string }> {
  return { html: renderReport(await review(params), new Date()) };
}
