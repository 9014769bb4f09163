/**
 * The auditor's jobs: a record's review as the Audit workspace shows it, its HTML report, and the check of
 * a certificate the auditor pins. The review itself is the core's (ceremony/audit/review.ts), the same the
 * CLI's `audit verify` runs; this file only maps it to the IPC view.
 */
import { statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { renderReport } from '../../ceremony/audit/report.js';
import { reviewRecord, type ArtifactCheck, type Review } from '../../ceremony/audit/review.js';
import { hashFile } from '../../ceremony/crypto.js';
import { CeremonyError } from '../../ceremony/errors.js';
import { finding } from '../../ceremony/audit/findings.js';
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
 * The record's artifacts looked for by name in a folder the auditor chose (the release copied to another
 * machine), hashed and compared with manifest.json. Used until the core's review takes the folder itself
 * (`audit verify --artifacts DIR`); the core's own lookup (beside the record) is replaced, not merged.
 */
async function artifactsIn(folder: string, review: Review): Promise<ArtifactCheck[]> {
  const out: ArtifactCheck[] = [];
  for (const a of review.manifest?.artifacts ?? []) {
    const at = join(folder, basename(a.name));
    let isFile = false;
    try {
      isFile = statSync(at).isFile();
    } catch {
      isFile = false;
    }
    if (!isFile) {
      out.push({ artifact: a, status: 'absent', lookedAt: at });
      continue;
    }
    const { sha256 } = await hashFile(at, ['sha256'] as const);
    out.push({ artifact: a, status: sha256.toString('hex') === a.sha256 && statSync(at).size === a.size ? 'match' : 'mismatch', lookedAt: at });
  }
  return out;
}

/**
 * The core's review, with the artifacts looked for in the chosen folder instead of beside the record: their
 * findings replace the core's artifact findings, and an artifact that no longer matches makes the record
 * tampered, as the core's finding classes say (ceremony/audit/findings.ts).
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
  const r = await reviewRecord(params.folder, trustedCertificates.length ? { trustedCertificates } : {});
  if (!params.artifactsDir) return r;
  const artifacts = await artifactsIn(params.artifactsDir, r);
  const findings = [
    ...r.findings.filter((f) => f.code !== 'artifact-absent' && f.code !== 'artifact-mismatch'),
    ...artifacts.flatMap((a) =>
      a.status === 'match' ? [] : [finding(a.status === 'absent' ? 'artifact-absent' : 'artifact-mismatch', `${a.artifact.role} ${a.artifact.name} ${a.status === 'absent' ? 'is not' : 'does not match manifest.json'} at ${a.lookedAt}`)],
    ),
  ];
  const tampered = findings.some((f) => f.class === 'tampered');
  return { ...r, artifacts, findings, ...(tampered && r.verdict !== 'tampered' ? { verdict: 'tampered', summary: `tampered: ${findings.find((f) => f.class === 'tampered')!.message}` } : {}) };
}

function artifactView(a: ArtifactCheck): ArtifactView {
  return { role: a.artifact.role, name: a.artifact.name, status: a.status, lookedAt: a.lookedAt };
}

export function toAuditView(r: Review, artifactsFolder: string | null): Omit<AuditView, 'pinnedCertificate'> {
  return {
    folder: r.dir,
    ceremony: `${r.kind ?? 'unknown'} ${r.ceremonyId ?? ''} (${r.outcome})`.replace(/\s+/g, ' '),
    verdict: r.verdict,
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
