/**
 * The key that seals a ceremony record (DESIGN §5): `--seal-key URI` (an HSM key with an OpenPGP
 * certificate), else the ceremony's own OpenPGP key, else the newest valid OpenPGP signing key on the
 * signing token. The seal is an armored detached OpenPGP signature over log.jsonl, made on the HSM.
 */
import { CeremonyError } from '../errors.js';
import type { RecordSealer } from '../audit/seal.js';
import type { TokenSession } from '../hsm/token.js';
import type { Pkcs11Uri } from '../hsm/uri.js';
import { TokenKeySigner } from '../hsm/token-signer.js';
import { findPrivateKey } from '../hsm/keys.js';
import { findOpenpgpKeys, type OpenpgpTokenKey } from '../openpgp/hsm-store.js';
import { certificateKeys, exportCertificate } from '../openpgp/build/certificate.js';
import { createDetachedSignature } from '../openpgp/build/detached.js';

/** Pick the seal key among the token's OpenPGP keys; refuses (before the ceremony starts) if none fits. */
export async function chooseSealKey(ts: TokenSession, opts: { sealKey?: Pkcs11Uri; ceremonyKeyLabel?: string; now: Date }): Promise<OpenpgpTokenKey> {
  const keys = await findOpenpgpKeys(ts, opts.now);
  let chosen: OpenpgpTokenKey | undefined;
  let asked: string;
  if (opts.sealKey) {
    const want = opts.sealKey;
    asked = `key '${want.object ?? want.id?.toString('hex') ?? '(unnamed)'}'`;
    chosen = keys.find((k) => (want.object === undefined || k.key.label === want.object) && (want.id === undefined || k.key.id.equals(want.id)));
  } else if (opts.ceremonyKeyLabel !== undefined) {
    asked = `key '${opts.ceremonyKeyLabel}'`;
    chosen = keys.find((k) => k.key.label === opts.ceremonyKeyLabel && k.usable) ?? keys.find((k) => k.usable);
  } else {
    asked = 'valid OpenPGP signing key';
    chosen = keys.find((k) => k.usable);
  }
  if (!chosen) {
    throw new CeremonyError('KEY_NOT_FOUND', `no key can seal the ceremony record: token '${ts.info.label}' has no ${asked} with an OpenPGP certificate (make one with key generate --openpgp-uid, or give --seal-key URI)`);
  }
  if (!chosen.usable) {
    throw new CeremonyError('KEY_UNSUITABLE', `the seal key '${chosen.key.label}' cannot sign now (expired, outside its validity window, or not signing-capable)`);
  }
  return chosen;
}

/** A RecordSealer that signs with `key` on the (logged-in) token session. */
export async function hsmSealer(ts: TokenSession, key: OpenpgpTokenKey, now: () => Date): Promise<RecordSealer> {
  const refs = await certificateKeys(key.certificate);
  const primary = refs.find((r) => r.role === 'primary');
  if (!primary) throw new CeremonyError('KEY_UNSUITABLE', `the certificate of '${key.key.label}' has no primary key`);
  const certificateArmored = exportCertificate(key.certificate, 'armored');
  return {
    certificateArmored,
    fingerprint: primary.fingerprint,
    description: `${key.openpgp.role === 'subkey' ? 'signing subkey' : 'key'} ${key.openpgp.fingerprint} ('${key.key.label}' on token '${ts.info.label}')`,
    async sign(data: Buffer): Promise<string> {
      // Look the private key up at sealing time: handles of private objects do not survive a logout,
      // and a quorum ceremony logs out and in again while it rotates PINs.
      const current = findPrivateKey(ts, { object: key.key.label, id: key.key.id.length ? key.key.id : undefined, extraPath: [], extraQuery: [] });
      const signer = new TokenKeySigner(ts, current, now);
      const sig = await createDetachedSignature({ signer, key: key.openpgp, input: data, created: now(), armor: true });
      return sig.output as string;
    },
  };
}
