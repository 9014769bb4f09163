/**
 * The sign-update ceremony for release files and update payloads (DESIGN §3 "Sign update", issue 4):
 *   request checked and keys found on the token (before anything starts) → air-gap check as the record
 *   opens → pinned build-server certificates → every input verified (signature and DIGESTS, builders'
 *   agreement, provenance) → fingerprints and SHA-256 shown for reading aloud → plan confirmed → one HSM
 *   login → key selected and its validity checked → each file signed → each signature verified through
 *   an independent path → payloads signed and checked → outputs created (each exclusively: nothing there
 *   is replaced or followed) → record sealed by the signing key.
 * Nothing is signed unless every input verified. Each file is read once: the verification pass also
 * computes the hash of our own signature (data ‖ our signature's fixed fields, RFC 4880 §5.2.4).
 * If any step fails after an output was written, the seal included, every output is taken back; however
 * it ends, every session it opened is closed (no token is left logged in).
 *
 * runSignUpdate reads as those steps, one named function each, over one state (SignCeremony): the ones
 * before the record opens and the cleanup are in sign-update-state.ts, the ones inside it in
 * sign-update-steps.ts.
 */
import type { Pkcs11Uri } from '../hsm/uri.js';
import type { FileVerification } from '../release/verify-release.js';
import type { SealedRecord } from '../audit/record.js';
import type { OpenPayloadSource } from '../payload/format.js';
import type { BuilderRule } from '../release/builders.js';
import type { ProvenancePolicy } from '../provenance/policy.js';
import { withCeremony, type CeremonyContext } from './runner.js';
import { checkRequest, chooseKeys, keepOutputs, releaseSessions, sealerForRefusal, startCeremony, takeBackOutputs } from './sign-update-state.js';
import {
  confirmSigningPlan,
  fixSignatureFields,
  loadTrustedKeys,
  logIn,
  recordOutputs,
  selectSigningKey,
  showFingerprints,
  signPayloads,
  signReleaseFiles,
  verifyInputs,
  writeSignatures,
} from './sign-update-steps.js';

export interface SignUpdateOptions extends CeremonyContext {
  files: string[];
  trustedKeys: string[];
  /** Certificates of designated revokers the pinned ones name (checked for revocations only). */
  revokerKeys?: string[];
  key: Pkcs11Uri;
  outDir: string;
  armor: boolean;
  signature?: string;
  digests?: string;
  /** Warn when the signing key expires within this many days (the renewal window). */
  renewWindowDays?: number;
  /**
   * Update payloads (CrAU) signed in the same ceremony with `payloadKeys` (the last makes the version-2
   * signature), written as OUT_DIR/NAME.signed: verified with the release files, all or nothing, one record.
   */
  payloads?: string[];
  payloadKeys?: Pkcs11Uri[];
  /** How payloads are opened for signing (default: the file); tests inject a source that changes between reads. */
  openPayloadInput?: OpenPayloadSource;
  /** Independent builders that must agree on every input (issue 15, release/agreement.ts). */
  builders?: BuilderRule;
  /** The provenance policy every input must meet (issue 15, provenance/check.ts). */
  provenance?: ProvenancePolicy;
}

export interface SignedPayload {
  input: string;
  output: string;
  inputSha256: string;
  inputSize: number;
  outputSha256: string;
  outputSize: number;
  signedHash: string;
}

export interface SignedFile {
  input: string;
  output: string;
  sha256: string;
  sha512: string;
  signatureSha256: string;
}

export interface SignUpdateResult {
  verified: FileVerification[];
  signed: SignedFile[];
  payloads: SignedPayload[];
  key: { uri: string; fingerprint: string; primaryFingerprint: string };
  record: SealedRecord;
}

export async function runSignUpdate(o: SignUpdateOptions): Promise<SignUpdateResult> {
  // Before the record opens: a refusal here starts nothing and leaves no record.
  const request = checkRequest(o);
  const keys = await chooseKeys(o);
  const s = await startCeremony(o, request, keys);
  try {
    const { value, sealed } = await withCeremony(
      s.run,
      async () => {
        await loadTrustedKeys(s);
        fixSignatureFields(s);
        await verifyInputs(s);
        showFingerprints(s);
        await confirmSigningPlan(s);
        await logIn(s);
        await selectSigningKey(s);
        await signReleaseFiles(s);
        await signPayloads(s);
        await writeSignatures(s);
        return recordOutputs(s);
      },
      () => s.sealer,
      () => sealerForRefusal(s),
    );
    keepOutputs(s);
    return { ...value, record: sealed };
  } catch (e) {
    takeBackOutputs(s);
    throw e;
  } finally {
    releaseSessions(s);
  }
}
