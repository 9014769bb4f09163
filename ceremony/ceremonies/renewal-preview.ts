/**
 * What a renewal will do, read from the root token's public objects before any share or PIN (DESIGN §3,
 * renew): the quorum set in force (checked against the root key's signature, quorum-state.ts), the
 * current certificate, the new subkey's validity window and the quorum session ID the custodians confirm.
 * `runRenew` and the app's worker both start here, so the ID the app shows for confirmation is computed by
 * the same code that checks it, from the same objects.
 */
import type { CeremonyConfig } from '../config.js';
import { openModule, resolveModulePath } from '../hsm/module.js';
import { TokenSession } from '../hsm/token.js';
import { verifyCertificate, type CertificateStatus } from '../openpgp/build/self-check.js';
import { quorumSessionId, type QuorumSessionId, type QuorumSetDescriptor } from '../quorum/index.js';
import { subkeyWindow } from './quorum-common.js';
import { readQuorumState, readRootCertificate, type QuorumState } from './quorum-state.js';

export interface RenewalPreview {
  inForceState: QuorumState;
  inForce: QuorumSetDescriptor;
  /** The root certificate stored on the root token, as stored. */
  certificate: Uint8Array;
  status: CertificateStatus;
  window: ReturnType<typeof subkeyWindow>;
  /** The custodians of the new set, in the config's order. */
  newCustodians: string[];
  sessionId: QuorumSessionId;
}

/** Read it from an open (public) session on the root token; the caller closes the session. */
export async function previewRenewal(root: TokenSession, config: CeremonyConfig, now: Date): Promise<RenewalPreview> {
  const inForceState = readQuorumState(root);
  const certificate = readRootCertificate(root);
  const status = await verifyCertificate(certificate, now);
  const window = subkeyWindow(config, now);
  const newCustodians = config.quorum.custodians.map((c) => c.name);
  const sessionId = quorumSessionId({ currentFingerprint: status.primary.fingerprint, validFrom: window.validFrom, validUntil: window.validUntil, custodians: newCustodians, threshold: config.quorum.threshold });
  return { inForceState, inForce: inForceState.descriptor, certificate, status, window, newCustodians, sessionId };
}

/** The same, opening the config's root token without a login and closing it again (the app's first screen). */
export async function previewRenewalOnToken(config: CeremonyConfig, now: Date, env: NodeJS.ProcessEnv): Promise<RenewalPreview> {
  const mod = openModule(resolveModulePath({ flag: config.hsm.module, env }));
  const root = TokenSession.open(mod, { token: config.hsm.rootToken, extraPath: [], extraQuery: [] }, false);
  try {
    return await previewRenewal(root, config, now);
  } finally {
    root.close();
  }
}
