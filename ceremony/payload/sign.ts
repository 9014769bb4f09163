/**
 * `signPayload`: the whole of Flatcar's payload signing (core_sign_update: delta_generator hash →
 * sign the hash → delta_generator insert) in one streaming pass, with the keys behind DigestSigner.
 * Every signature is checked with the signer's public key before the output is moved into place, so a
 * faulty token can never produce a payload that update_engine would refuse.
 */
import { CeremonyError, isCeremonyError } from '../errors.js';
import type { DigestSigner } from '../signer.js';
import { constantTimeEqual } from '../crypto.js';
import { preparePayload, type PayloadDraft, type Progress } from './draft.js';
import type { OpenPayloadSource } from './format.js';
import type { PendingDraft } from './pending.js';
import { signatureMatchesDigest } from './rsa.js';

export interface SignPayloadOptions {
  input: string;
  output: string;
  /** In signature order: the last signer makes the version-2 signature that update_engine checks. */
  signers: readonly DigestSigner[];
  overwrite?: boolean;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** Refuse (DIGEST_MISMATCH, nothing signed) unless the input still has this SHA-256. */
  expectInputSha256?: Uint8Array;
  /** How the input is opened (default: the file); tests inject a source that changes between reads. */
  openInput?: OpenPayloadSource;
  /**
   * A pass already started for this input and output (pending.ts): taken if it reserved the signers'
   * sizes, else abandoned and the pass made again. Either way this call owns it from now on.
   */
  pending?: PendingDraft;
}

export interface SignPayloadResult {
  input: string;
  output: string;
  inputSha256: Buffer;
  inputSize: number;
  outputSha256: Buffer;
  /** The SHA-256 that was signed (delta_generator's `--out_hash_file`). */
  signedHash: Buffer;
  size: number;
  signaturesOffset: number;
  signaturesSize: number;
  signatures: { version: number; key: string; bytes: number }[];
}

/** Each signer's signature size in bytes (its modulus), refused unless update_engine can check it. */
function signatureSizesOf(signers: readonly DigestSigner[]): number[] {
  return signers.map((s) => {
    if (s.modulusBits % 8 !== 0 || s.modulusBits < 1024) {
      throw new CeremonyError('KEY_UNSUITABLE', `${s.description} is not an RSA key update_engine can check (${s.modulusBits} bits)`);
    }
    return s.modulusBits / 8;
  });
}

export async function signPayload(opts: SignPayloadOptions): Promise<SignPayloadResult> {
  let sizes: number[];
  try {
    if (opts.signers.length === 0) throw new CeremonyError('USAGE', 'signing a payload needs at least one key');
    sizes = signatureSizesOf(opts.signers);
  } catch (e) {
    await opts.pending?.abandon();
    throw e;
  }
  let draft: PayloadDraft;
  if (opts.pending?.fits(opts.input, opts.output, sizes)) {
    draft = await opts.pending.take(opts.onProgress);
  } else {
    // No pass started, or one started for other sizes than the selected keys have (or, by mistake, for
    // other files): start it now.
    await opts.pending?.abandon();
    draft = await preparePayload({
      input: opts.input,
      output: opts.output,
      signatureSizes: sizes,
      overwrite: opts.overwrite,
      onProgress: opts.onProgress,
      signal: opts.signal,
      openInput: opts.openInput,
    });
  }
  return signDraft(draft, opts.signers, opts.expectInputSha256);
}

/**
 * The second half of signPayload: refuse a draft whose input does not have the verified SHA-256, sign
 * its hash with each signer in order, check every signature with the signer's public key and commit.
 * The draft is discarded on any failure.
 */
async function signDraft(draft: PayloadDraft, signers: readonly DigestSigner[], expectInputSha256?: Uint8Array): Promise<SignPayloadResult> {
  try {
    if (expectInputSha256 && !constantTimeEqual(draft.inputSha256, expectInputSha256)) {
      throw new CeremonyError('DIGEST_MISMATCH', `${draft.input} changed after it was verified (its SHA-256 is now ${draft.inputSha256.toString('hex')}); nothing was signed`);
    }
    const sizes = signatureSizesOf(signers);
    if (sizes.length !== draft.signatureSizes.length || sizes.some((s, i) => s !== draft.signatureSizes[i])) {
      throw new CeremonyError('INTERNAL', 'the keys do not match the signature sizes the payload draft reserved');
    }
    const signatures: Buffer[] = [];
    for (const signer of signers) {
      let sig: Buffer;
      try {
        sig = await signer.signDigest('sha256', draft.hash);
      } catch (e) {
        if (isCeremonyError(e)) throw e;
        throw new CeremonyError('HSM_FAILURE', `signing with ${signer.description} failed; nothing was written`, { cause: e });
      }
      if (!signatureMatchesDigest(signer.publicKey, sig, draft.hash)) {
        throw new CeremonyError('SELF_CHECK_FAILED', `the signature made by ${signer.description} does not verify with its public key; nothing was written`);
      }
      signatures.push(sig);
    }
    const done = await draft.commit(signatures);
    return {
      input: draft.input,
      output: done.output,
      inputSha256: draft.inputSha256,
      inputSize: draft.inputSize,
      outputSha256: done.outputSha256,
      signedHash: draft.hash,
      size: done.size,
      signaturesOffset: draft.signaturesOffset,
      signaturesSize: draft.signaturesSize,
      signatures: signers.map((s, i) => ({ version: draft.versions[i]!, key: s.description, bytes: sizes[i]! })),
    };
  } finally {
    await draft.discard();
  }
}
