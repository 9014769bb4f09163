/** OpenPGP v4 certificates and signatures made on the HSM: the entry points other parts call. */
export {
  buildPrimaryCertificate,
  checkUserId,
  addSigningSubkey,
  exportCertificate,
  certificateKeys,
  findCertificateKey,
  readCertificatePackets,
  MAX_CERTIFICATE_BYTES,
  type BuiltCertificate,
  type OpenpgpKeyRef,
  type PrimaryKeyFlags,
  type PrimaryCertificateOptions,
  type SigningSubkeyOptions,
} from './certificate.js';
export { createDetachedSignature, prepareDetachedSignature, digestWithSuffix, type PreparedDetachedSignature, type DetachedSignature, type DetachedOptions } from './detached.js';
export { verifyCertificate, verifyDetachedSignature, type CertificateStatus, type CertificateKeyStatus, type DetachedCheckOptions, type DetachedCheckResult } from './self-check.js';
export { DEFAULT_OPENPGP_HASH, toOpenpgpTime, primaryKeyPacket, subkeyPacket, fingerprintHex, keyIdHex, keyIdBytes, keyPacketHolds, type OpenpgpHash, type KeyPacket } from './packets.js';
