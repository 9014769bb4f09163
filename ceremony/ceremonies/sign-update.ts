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
import { withCeremony } from './runner.js';
import type { SignUpdateOptions, SignUpdateResult } from './sign-update-state.js';
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

export type { SignUpdateOptions, SignedPayload, SignedFile, SignUpdateResult } from './sign-update-state.js';

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
