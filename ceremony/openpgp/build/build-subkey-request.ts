/**
 * The build server's subkey request (issue 15): the build server makes its next yearly signing key
 * itself (its secret never leaves it) and hands the ceremony three public packets, ASCII-armored as a
 * public key block:
 *
 *   root primary key packet ‖ build-server public subkey packet ‖ primary-key binding signature (0x19)
 *
 * The 0x19 (RFC 4880 §5.2.1, §5.2.4: it hashes 0x99-framed root key ‖ 0x99-framed subkey) is the
 * subkey's own statement that it consents to be bound to that root; without it the root could not
 * certify the key as a signing subkey (RFC 4880 §11.1, and GnuPG refuses signing subkeys that lack it).
 * The ceremony embeds it unchanged in the subkey binding signature (0x18) the root key makes on the HSM.
 *
 * The root packet is carried so a request made for another root is named as such; the back-signature is
 * always checked over the root key the ceremony holds, never over the packet in the request.
 */
import {
  armor,
  config as openpgpConfig,
  enums,
  PacketList,
  PublicKeyPacket,
  PublicSubkeyPacket,
  readPrivateKey,
  SecretKeyPacket,
  SecretSubkeyPacket,
  SignaturePacket,
  unarmor,
  type AnyPacket,
  type PrivateKey,
} from 'openpgp';
import { CeremonyError } from '../../errors.js';
import { fingerprintHex, keyIdHex } from './packets.js';

/** A request is three small packets; anything larger is not one. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** RSA only, at least 3072 bits (NIST SP 800-57 Pt. 1 §5.6.1: 128-bit strength past 2030), at most 16384. */
export const BUILD_SUBKEY_MIN_RSA_BITS = 3072;
export const BUILD_SUBKEY_MAX_RSA_BITS = 16384;
/** Hashes the back-signature may use (RFC 9580 §9.5 recommends SHA-256 or stronger). */
const BACK_SIGNATURE_HASHES = new Set<number>([enums.hash.sha256, enums.hash.sha384, enums.hash.sha512]);

export interface BuildSubkeyRequest {
  /** The root primary key packet the request names (compared with the root in force, not trusted). */
  root: PublicKeyPacket;
  subkey: PublicSubkeyPacket;
  backSignature: SignaturePacket;
  fingerprint: string;
  keyId: string;
  created: Date;
  /** e.g. "RSA-3072". */
  algorithm: string;
}

const REQUEST_PACKETS = {
  [enums.packet.publicKey]: PublicKeyPacket,
  [enums.packet.publicSubkey]: PublicSubkeyPacket,
  [enums.packet.signature]: SignaturePacket,
} as unknown as Parameters<typeof PacketList.fromBinary>[1];

function malformed(why: string, cause?: unknown): CeremonyError {
  return new CeremonyError('BUILD_SUBKEY_REQUEST_MALFORMED', `the build-server subkey request ${why}`, cause === undefined ? {} : { cause });
}

/** Parse an armored (or binary) request at the edge: exactly root key, subkey, one 0x19 signature. */
export async function readBuildSubkeyRequest(input: Uint8Array | string): Promise<BuildSubkeyRequest> {
  if (input.length > MAX_REQUEST_BYTES) throw malformed('is larger than 64 KiB');
  let binary: Uint8Array;
  let packets: PacketList<AnyPacket>;
  try {
    const text = armoredText(input);
    binary = text !== undefined ? ((await unarmor(text)).data as Uint8Array) : Buffer.from(input);
    packets = await PacketList.fromBinary(binary, REQUEST_PACKETS);
  } catch (e) {
    throw malformed('cannot be parsed as OpenPGP packets', e);
  }
  const [root, subkey, back] = packets;
  if (packets.length !== 3 || !(root instanceof PublicKeyPacket) || root instanceof PublicSubkeyPacket || !(subkey instanceof PublicSubkeyPacket) || !(back instanceof SignaturePacket)) {
    throw malformed('must hold exactly the root public key, the build-server public subkey and its back-signature, in that order');
  }
  if (root.version !== 4 || subkey.version !== 4 || back.version !== 4) throw malformed('must use OpenPGP v4 packets (RFC 4880)');
  if (back.signatureType !== enums.signature.keyBinding) throw malformed('carries a signature that is not a primary-key binding signature (type 0x19)');
  const info = subkey.getAlgorithmInfo();
  return {
    root,
    subkey,
    backSignature: back,
    fingerprint: fingerprintHex(subkey),
    keyId: keyIdHex(subkey),
    created: subkey.getCreationTime(),
    algorithm: info.bits ? `${info.algorithm === 'rsaEncryptSign' || info.algorithm === 'rsaSign' ? 'RSA' : info.algorithm}-${info.bits}` : String(info.curve ?? info.algorithm),
  };
}

/** Key size and algorithm policy: RSA (sign-capable) of 3072 to 16384 bits. */
export function checkBuildSubkeyAlgorithm(r: BuildSubkeyRequest): void {
  const { algorithm, bits } = r.subkey.getAlgorithmInfo();
  const rsa = algorithm === 'rsaEncryptSign' || algorithm === 'rsaSign';
  if (!rsa || (bits ?? 0) < BUILD_SUBKEY_MIN_RSA_BITS || (bits ?? 0) > BUILD_SUBKEY_MAX_RSA_BITS) {
    throw new CeremonyError(
      'BUILD_SUBKEY_WEAK',
      `the build-server subkey ${r.keyId} is ${r.algorithm}; the policy allows only RSA keys of ${BUILD_SUBKEY_MIN_RSA_BITS} to ${BUILD_SUBKEY_MAX_RSA_BITS} bits`,
    );
  }
}

/**
 * The back-signature must verify over (the root key in force, the requested subkey), made by that
 * subkey, with SHA-256 or stronger. The type is checked first: openpgp.js hashes the key pair the same
 * way for 0x18, 0x19 and 0x28, so another signature type over the pair would otherwise pass.
 */
export async function checkBackSignature(r: BuildSubkeyRequest, root: PublicKeyPacket): Promise<void> {
  const bad = (why: string, cause?: unknown) =>
    new CeremonyError('BUILD_SUBKEY_BACKSIG_INVALID', `the back-signature of the build-server subkey ${r.keyId} ${why}`, cause === undefined ? {} : { cause });
  const sig = r.backSignature;
  if (sig.signatureType !== enums.signature.keyBinding) throw bad('is not a primary-key binding signature (0x19)');
  if (!BACK_SIGNATURE_HASHES.has(sig.hashAlgorithm ?? -1)) throw bad('uses a hash weaker than SHA-256');
  if (sig.issuerFingerprint && Buffer.compare(Buffer.from(sig.issuerFingerprint), Buffer.from(r.subkey.getFingerprintBytes()!)) !== 0) {
    throw bad('names another key as its issuer');
  }
  if (!sig.created || sig.created < r.created) throw bad('is dated before the subkey was created');
  try {
    // Date null: validity in time is the ceremony's policy (checked by the caller), not openpgp.js's clock.
    await sig.verify(r.subkey, enums.signature.keyBinding, { key: root, bind: r.subkey }, null as unknown as Date);
  } catch (e) {
    throw bad(`does not verify over root ${fingerprintHex(root)} and the subkey`, e);
  }
}

/** The text of ASCII-armored input (RFC 4880 §6.2), or undefined for binary packets. */
function armoredText(input: Uint8Array | string): string | undefined {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  return text.trimStart().startsWith('-----BEGIN PGP ') ? text : undefined;
}

export interface MakeRequestOptions {
  /** The root's public certificate (armored or binary). */
  rootCertificate: Uint8Array | string;
  /** The build server's key exported by `gpg --export-secret-keys` (or -subkeys), unprotected. */
  secretKey: Uint8Array | string;
  /** Which key of it to request for (fingerprint or key ID); default: the primary if it has its secret. */
  key?: string;
  now: Date;
}

/**
 * Build-server side: make the request with the build server's own secret key, in memory. The key
 * material and creation time are kept, so the subkey has the fingerprint GnuPG shows for the key and a
 * signature `gpg --local-user FPR!` makes with it names that fingerprint as its issuer.
 */
export async function makeBuildSubkeyRequest(o: MakeRequestOptions): Promise<{ armored: string; request: BuildSubkeyRequest }> {
  const { readKey } = await import('openpgp');
  let rootKey;
  try {
    const cert = armoredText(o.rootCertificate);
    rootKey = cert !== undefined ? await readKey({ armoredKey: cert }) : await readKey({ binaryKey: o.rootCertificate as Uint8Array });
  } catch (e) {
    throw new CeremonyError('CERTIFICATE_MALFORMED', 'the root certificate cannot be parsed', { cause: e });
  }
  let own: PrivateKey;
  try {
    const secret = armoredText(o.secretKey);
    own = secret !== undefined ? await readPrivateKey({ armoredKey: secret }) : await readPrivateKey({ binaryKey: o.secretKey as Uint8Array });
  } catch (e) {
    throw new CeremonyError('INPUT_MALFORMED', 'the build-server secret key cannot be parsed (export it with gpg --export-secret-keys)', { cause: e });
  }
  const want = o.key?.replace(/\s+/g, '').toUpperCase();
  const candidates = own
    .getKeys()
    .map((k) => k.keyPacket)
    .filter((p): p is SecretKeyPacket | SecretSubkeyPacket => (p instanceof SecretKeyPacket || p instanceof SecretSubkeyPacket) && p.isDecrypted() === true && !p.isDummy());
  const chosen = want
    ? candidates.find((p) => p.getFingerprint().toUpperCase() === want || p.getKeyID().toHex().toUpperCase() === want)
    : candidates.find((p) => p === own.keyPacket);
  if (!chosen) {
    throw new CeremonyError('KEY_NOT_FOUND', want ? `the secret key file holds no unprotected secret key ${o.key}` : 'the primary key of the secret key file has no unprotected secret: name the subkey with --key, or export it without a passphrase');
  }
  const subkey = new PublicSubkeyPacket();
  Object.assign(subkey, { version: chosen.version, created: chosen.getCreationTime(), algorithm: chosen.algorithm, publicParams: (chosen as unknown as { publicParams: unknown }).publicParams });
  await (subkey as unknown as { computeFingerprintAndKeyID(): Promise<void> }).computeFingerprintAndKeyID();
  const back = new SignaturePacket();
  back.signatureType = enums.signature.keyBinding;
  back.publicKeyAlgorithm = chosen.algorithm;
  back.hashAlgorithm = enums.hash.sha512;
  const root = rootKey.keyPacket as PublicKeyPacket;
  // sign() takes a config at runtime (src/packet/signature.js) though the type definitions omit it.
  const sign = back.sign.bind(back) as (key: unknown, data: unknown, date: Date, detached: boolean, config: unknown) => Promise<void>;
  await sign(chosen, { key: root, bind: subkey }, o.now, false, { ...openpgpConfig, nonDeterministicSignaturesViaNotation: false });
  const list = new PacketList<AnyPacket>();
  list.push(root, subkey, back);
  const bytes = list.write();
  const request = await readBuildSubkeyRequest(bytes);
  // Check what is handed over exactly as the ceremony will.
  checkBuildSubkeyAlgorithm(request);
  await checkBackSignature(request, root);
  return { armored: armor(enums.armor.publicKey, bytes, undefined, undefined, 'ceremony build-server subkey request', true), request };
}
