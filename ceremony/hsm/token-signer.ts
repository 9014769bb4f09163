/**
 * A DigestSigner backed by a private key on a token: the host hashes, the token signs the DER
 * DigestInfo with CKM_RSA_PKCS (PKCS#11 v2.40 §2.1.6), and the key's validity window is checked at
 * every signature, not just at lookup. `warn` hears what that check warns of (an undated key), once;
 * a ceremony that said it when it selected the key gives none.
 */
import type { KeyObject } from 'node:crypto';
import { pkcs11 } from './native.js';
import { digestInfo, type HashAlgorithm } from '../crypto.js';
import type { DigestSigner } from '../signer.js';
import { pkcs11Failure } from './module.js';
import { assertKeyUsable, publicKeyOf, type KeyInfo } from './keys.js';
import type { TokenSession } from './token.js';

export class TokenKeySigner implements DigestSigner {
  readonly publicKey: KeyObject;
  readonly modulusBits: number;
  readonly description: string;

  constructor(
    readonly session: TokenSession,
    readonly key: KeyInfo,
    private readonly clock: () => Date = () => new Date(),
    private readonly warn?: (message: string) => void,
  ) {
    this.publicKey = publicKeyOf(session, key.handle);
    this.modulusBits = this.publicKey.asymmetricKeyDetails?.modulusLength ?? key.bits;
    this.description = key.uri;
  }

  /** Warnings already given by this signer: the validity check runs at every signature, its warnings once. */
  private readonly warned = new Set<string>();

  async signDigest(hash: HashAlgorithm, digest: Uint8Array): Promise<Buffer> {
    assertKeyUsable(this.key, this.clock(), (m) => {
      if (this.warned.has(m)) return;
      this.warned.add(m);
      this.warn?.(m);
    });
    const input = digestInfo(hash, digest);
    try {
      this.session.lib.C_SignInit(this.session.handle, { mechanism: pkcs11.CKM_RSA_PKCS }, this.key.handle);
      return Buffer.from(this.session.lib.C_Sign(this.session.handle, input, Buffer.alloc(this.modulusBits / 8)));
    } catch (e) {
      throw pkcs11Failure(e, `signing with key '${this.key.label}' on token '${this.session.info.label}'`);
    }
  }
}
