/**
 * Detached v4 signatures GnuPG will not make, made with openpgp.js from a real secret key (for instance one GnuPG
 * exported): a chosen creation time with no check of the key's own validity, and chosen Issuer Fingerprint and
 * Issuer Key ID subpackets in the signed and unsigned areas (RFC 4880 §5.2.3.5, §5.2.3.28). What a signer holding
 * the key can do; the verifier under test decides what it is worth.
 */
import * as openpgp from 'openpgp';

/** An issuer subpacket: a v4 fingerprint or a key ID, both uppercase hex. */
export type IssuerSubpacket = { fpr: string } | { keyID: string };
export const issuerFpr = (fingerprint: string): IssuerSubpacket => ({ fpr: fingerprint });
export const issuerKeyID = (fingerprint: string): IssuerSubpacket => ({ keyID: fingerprint.slice(-16) });

export interface ForgeOptions {
  created: Date;
  /** The issuers of the signed area; absent: openpgp.js's own (fingerprint and key ID of the signing key). */
  signed?: IssuerSubpacket[];
  unsigned?: IssuerSubpacket[];
}

/** RFC 4880 §5.2.3.1: a subpacket with a one-octet length. */
const subpacket = (type: number, body: Uint8Array) => Buffer.concat([Buffer.from([body.length + 1, type]), body]);

function issuerSubpacket(i: IssuerSubpacket): { type: number; body: Buffer } {
  return 'fpr' in i ? { type: 33, body: Buffer.concat([Buffer.from([4]), Buffer.from(i.fpr, 'hex')]) } : { type: 16, body: Buffer.from(i.keyID, 'hex') };
}

/** The key packet of `fingerprint` (the primary or a subkey) in a decrypted private key. */
export function secretKeyPacket(key: openpgp.PrivateKey, fingerprint: string): openpgp.SecretKeyPacket | openpgp.SecretSubkeyPacket {
  const k = [key, ...key.subkeys].find((s) => s.getFingerprint().toUpperCase() === fingerprint.toUpperCase());
  if (!k) throw new Error(`no key ${fingerprint} in this private key`);
  return k.keyPacket as openpgp.SecretKeyPacket | openpgp.SecretSubkeyPacket;
}

/** A binary (0x00) detached signature over `data`, as a binary OpenPGP packet. */
export async function forgeDetachedSignature(key: openpgp.SecretKeyPacket | openpgp.SecretSubkeyPacket, data: Uint8Array, opts: ForgeOptions): Promise<Buffer> {
  const packet = new openpgp.SignaturePacket();
  packet.signatureType = openpgp.enums.signature.binary;
  packet.publicKeyAlgorithm = key.algorithm;
  packet.hashAlgorithm = openpgp.enums.hash.sha256;
  if (opts.signed) {
    const seconds = Math.floor(opts.created.getTime() / 1000);
    const area = Buffer.concat([
      subpacket(2, Buffer.from([24, 16, 8, 0].map((shift) => (seconds >>> shift) & 0xff))),
      ...opts.signed.map(issuerSubpacket).map((s) => subpacket(s.type, s.body)),
    ]);
    // openpgp.js writes its own issuer subpackets: this signature carries exactly the ones given
    (packet as unknown as { writeHashedSubPackets: () => Uint8Array }).writeHashedSubPackets = () =>
      Buffer.concat([Buffer.from([area.length >> 8, area.length & 0xff]), area]);
  }
  const literal = new openpgp.LiteralDataPacket();
  literal.setBytes(data, openpgp.enums.literal.binary);
  await packet.sign(key, literal, opts.created, true, { ...openpgp.config, nonDeterministicSignaturesViaNotation: false });
  packet.unhashedSubpackets = (opts.unsigned ?? []).map((i) => ({ ...issuerSubpacket(i), critical: false }));
  const list = new openpgp.PacketList();
  list.push(packet);
  return Buffer.from(list.write());
}
