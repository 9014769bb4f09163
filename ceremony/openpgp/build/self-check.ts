/**
 * The post-signing self-check (DESIGN §3 "verify every output with the exported public key through an
 * independent code path"): the bytes we are about to write are parsed back by openpgp.js, and the RSA
 * check runs in openpgp.js's own big-integer code against the key packet read from the exported
 * certificate — not against the KeyObject the signer reported.
 */
import { enums, readKey, readSignature, type Key, type SignaturePacket } from 'openpgp';
import { CeremonyError } from '../../errors.js';
import { digestWithSuffix } from './detached.js';
import { MAX_CERTIFICATE_BYTES } from './certificate.js';
import type { OpenpgpHash } from './packets.js';

const HASH_NAME: Record<number, OpenpgpHash> = { [enums.hash.sha256]: 'sha256', [enums.hash.sha512]: 'sha512' };

export interface CertificateKeyStatus {
  fingerprint: string;
  keyId: string;
  created: Date;
  /** Key flags from the newest valid self-signature or binding. */
  canCertify: boolean;
  canSign: boolean;
  /** undefined = never expires. */
  expires: Date | undefined;
}

export interface CertificateStatus {
  primary: CertificateKeyStatus;
  userIds: string[];
  subkeys: CertificateKeyStatus[];
}

function flagsOf(sig: SignaturePacket): { canCertify: boolean; canSign: boolean } {
  const f = sig.keyFlags?.[0] ?? 0;
  return { canCertify: (f & enums.keyFlags.certifyKeys) !== 0, canSign: (f & enums.keyFlags.signData) !== 0 };
}

function expiry(t: Date | number | null): Date | undefined {
  return t instanceof Date ? t : undefined;
}

async function parseCertificate(certificate: Uint8Array | string): Promise<Key> {
  if (certificate.length > MAX_CERTIFICATE_BYTES) throw new CeremonyError('CERTIFICATE_MALFORMED', 'the OpenPGP certificate is larger than 1 MiB');
  try {
    return typeof certificate === 'string' ? await readKey({ armoredKey: certificate }) : await readKey({ binaryKey: certificate });
  } catch (e) {
    throw new CeremonyError('CERTIFICATE_MALFORMED', 'the OpenPGP certificate cannot be parsed', { cause: e });
  }
}

/**
 * Check every self-signature and binding (with back-signatures) of a certificate with openpgp.js, at
 * `date`, and report what each key may do and until when. Expired keys are reported through `expires`
 * (compare with the date); a signature that does not verify throws SELF_CHECK_FAILED.
 */
export async function verifyCertificate(certificate: Uint8Array | string, date: Date = new Date()): Promise<CertificateStatus> {
  const key = await parseCertificate(certificate);
  const primaryKeyId = key.getKeyID().toHex().toUpperCase();
  const primaryExpires = expiry(await key.getExpirationTime().catch(() => null));
  // An expired primary is reported, not refused: its signatures stay checkable at the time they were made.
  const primaryDate = primaryExpires && primaryExpires <= date ? new Date(primaryExpires.getTime() - 1000) : date;
  let primarySig: SignaturePacket;
  try {
    await key.verifyPrimaryKey(primaryDate);
    // getPrimarySelfSignature exists at runtime (src/key/key.js) but not in openpgp.js's type definitions.
    primarySig = await (key as Key & { getPrimarySelfSignature(d: Date): Promise<SignaturePacket> }).getPrimarySelfSignature(primaryDate);
  } catch (e) {
    throw new CeremonyError('SELF_CHECK_FAILED', `the certificate's primary key ${primaryKeyId} does not verify`, { cause: e });
  }
  const { user } = await key.getPrimaryUser(primaryDate);
  const primary: CertificateKeyStatus = {
    fingerprint: key.getFingerprint().toUpperCase(),
    keyId: primaryKeyId,
    created: key.getCreationTime(),
    ...flagsOf(primarySig),
    expires: primaryExpires,
  };
  const subkeys: CertificateKeyStatus[] = [];
  for (const sub of key.getSubkeys()) {
    const subKeyId = sub.getKeyID().toHex().toUpperCase();
    const bad = (why: string, cause?: unknown) => new CeremonyError('SELF_CHECK_FAILED', `subkey ${subKeyId} is not validly bound to its primary key: ${why}`, { cause });
    let binding: SignaturePacket;
    try {
      binding = await sub.verify(date);
    } catch (e) {
      // A subkey that has expired since (an earlier year's key) is kept in the certificate: check its
      // binding at the time it was made instead, and report it as expired.
      const madeAt = sub.bindingSignatures.reduce((t, s) => (s.created && s.created > t ? s.created : t), new Date(0));
      try {
        binding = await sub.verify(madeAt);
      } catch {
        throw bad(e instanceof Error ? e.message : String(e), e);
      }
      if (!binding.keyExpirationTime) throw bad(e instanceof Error ? e.message : String(e), e);
    }
    const flags = flagsOf(binding);
    if (flags.canSign) {
      // RFC 4880 §5.2.1 0x19 / §11.1: a signing subkey must carry the subkey's own back-signature.
      const back = binding.embeddedSignature;
      if (!back || back.signatureType !== enums.signature.keyBinding) throw bad('the primary-key binding back-signature is missing');
      try {
        await back.verify(sub.keyPacket, enums.signature.keyBinding, { key: key.keyPacket, bind: sub.keyPacket }, binding.created!);
      } catch (e) {
        throw bad('the primary-key binding back-signature does not verify', e);
      }
    }
    subkeys.push({
      fingerprint: sub.getFingerprint().toUpperCase(),
      keyId: subKeyId,
      created: sub.getCreationTime(),
      ...flags,
      expires: binding.keyExpirationTime ? new Date(sub.getCreationTime().getTime() + binding.keyExpirationTime * 1000) : undefined,
    });
  }
  return { primary, userIds: user.userID ? [user.userID.userID] : [], subkeys };
}

export interface DetachedCheckOptions {
  certificate: Uint8Array | string;
  /** Binary or armored detached signature. */
  signature: Uint8Array | string;
  /** The document: a path (read once), its bytes, or the digest of document ‖ the signature's fields from the caller's own pass. */
  content: string | Uint8Array | { signedDigest: Buffer; algorithm: OpenpgpHash };
  date?: Date;
}

export interface DetachedCheckResult {
  fingerprint: string;
  keyId: string;
  role: 'primary' | 'subkey';
  /** Whether the certificate gives that key the sign flag (GnuPG may refuse data signatures otherwise). */
  keyCanSign: boolean;
  created: Date;
  hash: OpenpgpHash;
}

/** Verify a detached document signature (type 0x00) against a certificate. Throws SELF_CHECK_FAILED. */
export async function verifyDetachedSignature(o: DetachedCheckOptions): Promise<DetachedCheckResult> {
  const date = o.date ?? new Date();
  const status = await verifyCertificate(o.certificate, date);
  const key = await parseCertificate(o.certificate);
  let sig: SignaturePacket;
  try {
    const parsed = typeof o.signature === 'string' ? await readSignature({ armoredSignature: o.signature }) : await readSignature({ binarySignature: o.signature });
    if (parsed.packets.length !== 1) throw new Error(`${parsed.packets.length} signature packets`);
    sig = parsed.packets[0]!;
  } catch (e) {
    throw new CeremonyError('SELF_CHECK_FAILED', 'the signature just made cannot be parsed back', { cause: e });
  }
  const fail = (why: string, cause?: unknown) => new CeremonyError('SELF_CHECK_FAILED', `the signature just made does not verify: ${why}`, { cause });
  if (sig.version !== 4 || sig.signatureType !== enums.signature.binary) throw fail('it is not a v4 binary-document signature');
  const algorithm = HASH_NAME[sig.hashAlgorithm ?? -1];
  if (!algorithm) throw fail('it uses a hash other than SHA-256 or SHA-512');
  const [keyPacket] = key.getKeys(sig.issuerKeyID).map((k) => k.keyPacket);
  if (!keyPacket) throw fail(`the certificate holds no key ${sig.issuerKeyID.toHex().toUpperCase()}`);
  if (sig.issuerFingerprint && Buffer.compare(Buffer.from(sig.issuerFingerprint), Buffer.from(keyPacket.getFingerprintBytes()!)) !== 0) {
    throw fail('its issuer fingerprint is not the key that matches its key ID');
  }
  // RFC 4880 §5.2.4: document ‖ hashed signature fields ‖ 0x04 0xFF ‖ four-octet length of those fields.
  const signatureData = (sig as unknown as { signatureData: Uint8Array }).signatureData;
  const trailer = Buffer.alloc(6);
  trailer[0] = 4;
  trailer[1] = 0xff;
  trailer.writeUInt32BE(signatureData.length, 2);
  let digest: Buffer;
  if (typeof o.content === 'object' && 'signedDigest' in o.content) {
    // The caller hashed document ‖ these very fields in its own pass (prepareDetachedSignature).
    if (o.content.algorithm !== algorithm) throw fail(`it uses ${algorithm} but the content was hashed with ${o.content.algorithm}`);
    digest = o.content.signedDigest;
  } else {
    digest = await digestWithSuffix(o.content, algorithm, Buffer.concat([signatureData, trailer]));
  }
  // openpgp.js verifies a precomputed digest when `hashed` is set (src/packet/signature.js verify()).
  (sig as unknown as { hashed: Uint8Array }).hashed = digest;
  try {
    await sig.verify(keyPacket, enums.signature.binary, null as unknown as object, date, true);
  } catch (e) {
    throw fail(e instanceof Error ? e.message : String(e), e);
  }
  const fingerprint = keyPacket.getFingerprint().toUpperCase();
  const role = fingerprint === status.primary.fingerprint ? 'primary' : 'subkey';
  const keyStatus = role === 'primary' ? status.primary : status.subkeys.find((s) => s.fingerprint === fingerprint);
  return { fingerprint, keyId: keyPacket.getKeyID().toHex().toUpperCase(), role, keyCanSign: keyStatus?.canSign ?? false, created: sig.created!, hash: algorithm };
}

