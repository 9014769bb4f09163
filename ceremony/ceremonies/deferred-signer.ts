/**
 * The signer of a release signature whose fields are fixed before the HSM login: the sign-update ceremony
 * hashes data ‖ our signature's fixed fields (RFC 4880 §5.2.4) in the verification pass, before any PIN is
 * asked, but the token signer exists only after the login. This signer has the key's public half from its
 * certificate at once and forwards to the token signer once bound.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { CeremonyError } from '../errors.js';
import type { HashAlgorithm } from '../crypto.js';
import type { TokenKeySigner } from '../hsm/token-signer.js';
import type { OpenpgpTokenKey } from '../openpgp/hsm-store.js';

export class DeferredSigner {
  private target: TokenKeySigner | undefined;
  readonly publicKey: KeyObject;
  readonly modulusBits: number;
  readonly description: string;

  constructor(entry: OpenpgpTokenKey) {
    const pkt = entry.openpgp.packet as unknown as { publicParams: { n: Uint8Array; e: Uint8Array } };
    this.publicKey = createPublicKey({ key: { kty: 'RSA', n: Buffer.from(pkt.publicParams.n).toString('base64url'), e: Buffer.from(pkt.publicParams.e).toString('base64url') }, format: 'jwk' });
    this.modulusBits = this.publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
    this.description = entry.key.uri;
  }

  bind(signer: TokenKeySigner): void {
    this.target = signer;
  }

  async signDigest(hash: HashAlgorithm, digest: Uint8Array): Promise<Buffer> {
    if (!this.target) throw new CeremonyError('INTERNAL', 'signing was attempted before the HSM login');
    return this.target.signDigest(hash, digest);
  }
}
