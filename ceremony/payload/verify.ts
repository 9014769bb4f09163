/**
 * update_engine's check of a signed payload (payload_signer.cc VerifySignedPayload / VerifySignatureBlob,
 * payload_processor.cc VerifyPayload): the Signatures message sits at signatures_offset and ends the
 * file; the FIRST signature whose version is 2 is the one checked; it must recover (RSA PKCS#1 v1.5,
 * SHA-256 DigestInfo) the SHA-256 of bytes [0, 20 + manifest length + signatures_offset).
 *
 * Besides the verdict, every signature is listed with its version and the keys it verifies with, so a
 * person can see why a payload with a version-1 signature by the right key is still refused.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { CeremonyError } from '../errors.js';
import { openPayloadSource, readExactly, readMetadata, type PayloadSource } from './format.js';
import { signatureMatchesDigest } from './rsa.js';
import { CURRENT_SIGNATURE_VERSION, decodeSignatures } from './signatures.js';

export interface PayloadSignatureReport {
  index: number;
  version: number | undefined;
  bytes: number;
  /** Indexes into the publicKeys given, of the keys this signature verifies with. */
  verifiedBy: number[];
  /** Whether update_engine looks at this signature (the first with version 2). */
  checkedByUpdateEngine: boolean;
}

export interface PayloadVerification {
  ok: boolean;
  /** SHA-256 of the signed bytes. */
  hash: Buffer;
  signedBytes: number;
  signatures: PayloadSignatureReport[];
  /** One sentence saying why the payload is accepted or refused. */
  reason: string;
}

export interface VerifyPayloadOptions {
  onProgress?: (p: { bytes: number; total: number }) => void;
  /**
   * The SHA-256 of the signed range when the caller computed it over the very bytes it wrote (the
   * payload ceremony's check of its own output): the header, manifest and signatures are still read
   * back from the file and checked, but gigabytes of blobs are not hashed a second time.
   */
  signedHash?: Buffer;
}

/** SHA-256 of bytes [0, end) of the open payload (the descriptor already checked, never the path again). */
async function hashRange(src: PayloadSource, end: number, what: string, onProgress?: VerifyPayloadOptions['onProgress']): Promise<Buffer> {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.min(4 << 20, Math.max(end, 1)));
  let seen = 0;
  while (seen < end) {
    const n = await src.read(buf, 0, Math.min(buf.length, end - seen), seen);
    if (n === 0) throw new CeremonyError('PAYLOAD_MALFORMED', `${what} changed size while it was being read`);
    h.update(buf.subarray(0, n));
    seen += n;
    onProgress?.({ bytes: seen, total: end });
  }
  return h.digest();
}

/** Check a payload against the given public keys; never throws for a bad signature (see `ok`). */
export async function inspectPayload(path: string, publicKeys: readonly KeyObject[], opts: VerifyPayloadOptions = {}): Promise<PayloadVerification> {
  const what = `the payload ${path}`;
  const src = await openPayloadSource(path, what);
  let signedBytes: number;
  let entries: ReturnType<typeof decodeSignatures>;
  let hash: Buffer;
  try {
    // Any manifest update_engine would parse (unknown fields, any field order): only signing needs the
    // byte-exact re-encoding.
    const meta = await readMetadata(src, what, { reproducible: false });
    if (!meta.signatures) {
      throw new CeremonyError('PAYLOAD_SIGNATURE_INVALID', `${path} is not signed: its manifest declares no signatures`);
    }
    signedBytes = meta.metadataSize + meta.signatures.offset;
    entries = decodeSignatures(await readExactly(src, meta.signatures.size, signedBytes, what), what);
    hash = opts.signedHash ?? (await hashRange(src, signedBytes, what, opts.onProgress));
  } finally {
    await src.close();
  }
  const chosen = entries.find((s) => s.version === CURRENT_SIGNATURE_VERSION);
  const signatures = entries.map((s) => ({
    index: s.index,
    version: s.version,
    bytes: s.data.length,
    verifiedBy: publicKeys.flatMap((k, i) => (signatureMatchesDigest(k, s.data, hash) ? [i] : [])),
    checkedByUpdateEngine: s === chosen,
  }));
  const chosenReport = signatures.find((s) => s.checkedByUpdateEngine);
  let ok = false;
  let reason: string;
  if (!chosenReport) {
    reason = `none of its ${entries.length} signature(s) has version ${CURRENT_SIGNATURE_VERSION}, the only one update_engine checks`;
  } else if (chosenReport.verifiedBy.length === 0) {
    const others = signatures.filter((s) => s !== chosenReport && s.verifiedBy.length > 0);
    reason =
      `its version-${CURRENT_SIGNATURE_VERSION} signature (#${chosenReport.index + 1}) does not verify with the given public key(s)` +
      (others.length ? `; signature(s) ${others.map((s) => `#${s.index + 1} (version ${s.version ?? 'none'})`).join(', ')} do, but update_engine does not check them` : '');
  } else {
    ok = true;
    reason = `its version-${CURRENT_SIGNATURE_VERSION} signature (#${chosenReport.index + 1}) verifies over the first ${signedBytes} bytes`;
  }
  return { ok, hash, signedBytes, signatures, reason };
}

/** update_engine's verdict; refuses with PAYLOAD_SIGNATURE_INVALID (exit 1), carrying the full report. */
export async function verifyPayload(path: string, publicKeys: readonly KeyObject[], opts: VerifyPayloadOptions = {}): Promise<PayloadVerification> {
  if (publicKeys.length === 0) throw new CeremonyError('USAGE', 'verifying a payload needs at least one public key');
  const v = await inspectPayload(path, publicKeys, opts);
  if (!v.ok) throw payloadRefusal(path, v);
  return v;
}

/** The refusal for a report that is not ok (PAYLOAD_SIGNATURE_INVALID, exit 1). */
export function payloadRefusal(path: string, v: PayloadVerification): CeremonyError {
  return new CeremonyError('PAYLOAD_SIGNATURE_INVALID', `update_engine would refuse ${path}: ${v.reason}`, {
    details: { signatures: v.signatures, hash: v.hash.toString('hex') },
  });
}
