/**
 * The seal of a ceremony record: an armored OpenPGP detached signature (RFC 9580 §5.2, signature type
 * 0x00 over the binary document) over the exact bytes of log.jsonl, made by the ceremony's HSM key.
 * This is the seam: the ceremonies implement it with an HSM key (ceremony/openpgp), tests with
 * openpgp.js and a throwaway key. The record only needs the signature and the public certificate.
 */
export interface RecordSealer {
  /** Make an armored detached OpenPGP signature over `data`. */
  sign(data: Buffer): Promise<string>;
  /** The armored public certificate that verifies the signature (written to keys/). */
  readonly certificateArmored: string;
  /** Upper-case hex OpenPGP fingerprint of the signing (sub)key's primary key. */
  readonly fingerprint: string;
  /** For people: e.g. "signing subkey 0x1234... on token 'signing'". Never a secret. */
  readonly description: string;
}
