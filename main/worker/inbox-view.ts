/**
 * The inbox scan's per-file view, from the core's verification facts (ceremony/release/verify-release.ts):
 * the verdict, the signer, and how the config's independent builders stood on the file (issue 15), so the
 * Sign-update workspace shows the same agreed/disagreed/missing the CLI prints (agreement.ts describeVerdict).
 */
import type { AgreementResult } from '../../ceremony/release/agreement.js';
import type { FileVerification } from '../../ceremony/release/verify-release.js';
import type { BuilderAgreementView, BuilderStateView, InboxFile } from '../ipc-contract.js';

/** Each builder's state, in the config's order, with the differing digest or the code that kept it from counting. */
export function toBuilderView(a: AgreementResult): BuilderAgreementView {
  const builders = a.builders.map((b): BuilderStateView => {
    if (b.state === 'agreed') return { name: b.builder, state: 'agreed', keyFingerprint: b.keyFingerprint ?? '' };
    if (b.state === 'disagreed') {
      const d = b.difference!;
      return { name: b.builder, state: 'disagreed', algorithm: d.algorithm, listed: d.listed, computed: d.computed, keyFingerprint: b.keyFingerprint ?? '' };
    }
    return { name: b.builder, state: 'missing', code: b.code ?? 'DIGEST_MISSING', reason: b.reason ?? '' };
  });
  return { threshold: a.threshold, total: a.builders.length, met: a.met, builders };
}

export function toInboxFile(v: FileVerification, name: string, kind: InboxFile['kind']): InboxFile {
  return {
    name,
    size: v.size ?? 0,
    kind,
    status: v.status,
    ...(v.code ? { reason: { code: v.code, message: v.reason ?? '' } } : {}),
    ...(v.signature ? { signerFingerprint: v.signature.keyFingerprint } : {}),
    sha256: v.sha256 ?? '',
    ...(v.agreement ? { builders: toBuilderView(v.agreement) } : {}),
  };
}
