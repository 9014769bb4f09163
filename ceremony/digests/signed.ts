/**
 * A DIGESTS list is only as good as its signature: it is read either clearsigned (`X.DIGESTS.asc`, RFC 4880 §7)
 * or with a detached signature (`X.DIGESTS` + `X.DIGESTS.sig`/`.asc`), the signature must pass every rule a
 * release file's does, and only the signed text is parsed. Text around a clearsigned block is ignored and
 * counted, so the report can say so: an attacker can append lines to a clearsigned file without breaking it.
 */
import * as openpgp from 'openpgp';
import { CeremonyError } from '../errors.js';
import { fileExists, readInputFile } from '../files.js';
import { parseDetachedSignature, MAX_SIGNATURE_BYTES } from '../openpgp/verify/signature.js';
import { verifySignatureOverBytes, type SignatureRules, type SignerIdentity } from '../openpgp/verify/rules.js';
import { MAX_DIGESTS_BYTES, parseDigestsList, type DigestEntry, type UnknownSection } from './parse.js';

export interface SignedDigests {
  source: string;
  signatureSource: string;
  form: 'clearsigned' | 'detached';
  signer: SignerIdentity;
  entries: DigestEntry[];
  /** Non-blank lines outside the clearsigned block, ignored (0 for a detached signature). */
  ignoredLines: number;
  /** Signed sections for digest algorithms not known here, whose lines were not checked. */
  unknownSections: UnknownSection[];
}

const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----';
const END_SIGNATURE = '-----END PGP SIGNATURE-----';

function decodeText(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new CeremonyError('DIGESTS_MALFORMED', `${source} is not UTF-8 text`, { cause: e });
  }
}

export function isClearsigned(bytes: Uint8Array): boolean {
  return Buffer.from(bytes).includes(BEGIN_SIGNED);
}

/** Cut the one clearsigned block out of the file; count the non-blank lines around it. */
export function splitClearsigned(text: string, source: string): { block: string; ignoredLines: number } {
  const lines = text.split('\n');
  const begins = lines.flatMap((l, i) => (l.replace(/\s+$/, '') === BEGIN_SIGNED ? [i] : []));
  if (begins.length === 0) throw new CeremonyError('DIGESTS_MALFORMED', `${source} is not a clearsigned message`);
  // Two signed blocks in one file: which one "counts" would be a guess an attacker could steer.
  if (begins.length > 1) throw new CeremonyError('DIGESTS_MALFORMED', `${source} holds ${begins.length} clearsigned blocks; exactly one is expected`);
  const begin = begins[0]!;
  const end = lines.findIndex((l, i) => i > begin && l.replace(/\s+$/, '') === END_SIGNATURE);
  if (end < 0) throw new CeremonyError('DIGESTS_MALFORMED', `${source} has no end of signature`);
  const outside = [...lines.slice(0, begin), ...lines.slice(end + 1)];
  return { block: lines.slice(begin, end + 1).join('\n') + '\n', ignoredLines: outside.filter((l) => l.trim() !== '').length };
}

export async function readClearsignedDigests(bytes: Uint8Array, source: string, rules: SignatureRules): Promise<SignedDigests> {
  if (bytes.length > MAX_DIGESTS_BYTES) throw new CeremonyError('DIGESTS_MALFORMED', `${source} is larger than ${MAX_DIGESTS_BYTES} bytes`);
  const { block, ignoredLines } = splitClearsigned(decodeText(bytes, source), source);
  let message: openpgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: block });
  } catch (e) {
    throw new CeremonyError('DIGESTS_MALFORMED', `${source} is not a well-formed clearsigned message`, { cause: e });
  }
  // `signature` is public in openpgp.js but missing from its type definitions.
  const packets = [...(message as unknown as { signature: openpgp.Signature }).signature.packets].filter((p) => p instanceof openpgp.SignaturePacket);
  if (packets.length !== 1) {
    throw new CeremonyError('SIGNATURE_MALFORMED', `${source} carries ${packets.length} signatures; exactly one is expected`);
  }
  const packet = packets[0]!;
  if (packet.version !== 4 || !packet.created || !packet.signatureData) {
    throw new CeremonyError('SIGNATURE_MALFORMED', `${source} does not carry a version 4 signature with a creation time`);
  }
  // RFC 4880 §7.1: the signed text is the dash-unescaped text without trailing whitespace, lines ending <CR><LF>.
  const text = message.getText();
  const signer = await verifySignatureOverBytes({ source, packet }, Buffer.from(text, 'utf8'), { ...rules, kinds: ['text'] });
  return { source, signatureSource: source, form: 'clearsigned', signer, ...parseDigestsList(text, source), ignoredLines };
}

export async function readDetachedDigests(
  bytes: Uint8Array,
  source: string,
  signatureBytes: Uint8Array,
  signatureSource: string,
  rules: SignatureRules,
): Promise<SignedDigests> {
  if (bytes.length > MAX_DIGESTS_BYTES) throw new CeremonyError('DIGESTS_MALFORMED', `${source} is larger than ${MAX_DIGESTS_BYTES} bytes`);
  const signature = await parseDetachedSignature(signatureBytes, signatureSource);
  // The bytes are checked before a single character is interpreted.
  const signer = await verifySignatureOverBytes(signature, bytes, { ...rules, kinds: ['binary', 'text'] });
  return { source, signatureSource, form: 'detached', signer, ...parseDigestsList(decodeText(bytes, source), source), ignoredLines: 0 };
}

/**
 * Load a DIGESTS file named by the user: clearsigned when it is one, else its detached signature beside it
 * (`D.sig`, then `D.asc`) or `signaturePath`.
 */
export async function loadSignedDigests(path: string, rules: SignatureRules, signaturePath?: string, exists: (p: string) => boolean = fileExists): Promise<SignedDigests> {
  const bytes = readInputFile(path, 'DIGESTS file', MAX_DIGESTS_BYTES);
  if (!signaturePath && isClearsigned(bytes)) return readClearsignedDigests(bytes, path, rules);
  const sigPath = signaturePath ?? [`${path}.sig`, `${path}.asc`].find(exists);
  if (!sigPath) {
    throw new CeremonyError('SIGNATURE_MISSING', `${path} is neither clearsigned nor accompanied by ${path}.sig or ${path}.asc`);
  }
  const sigBytes = readInputFile(sigPath, 'signature', MAX_SIGNATURE_BYTES);
  return readDetachedDigests(bytes, path, sigBytes, sigPath, rules);
}
