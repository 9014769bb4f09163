/**
 * Designated revokers (RFC 4880 §5.2.3.15 Revocation Key; RFC 9580 §5.2.3.23): a certificate may authorise another
 * key to revoke it. Such a revocation is a key revocation signature (0x20) on the certificate's primary key, issued
 * by the revoker, not by the primary. openpgp.js does not support them: it throws on every self-signature that
 * names a revoker (so the certificate loses those self-signatures) and never checks a revocation by another key, so
 * a certificate revoked by its designated revoker looked valid. GnuPG reports it revoked.
 *
 * The rule here: a revocation by a named revoker counts when the revoker's certificate is pinned or was given
 * (`--revoker-key`); a certificate that names a revoker whose certificate is neither cannot be trusted, because its
 * revocations cannot be checked.
 */
import * as openpgp from 'openpgp';
import { revocationKeys } from './subpackets.js';

export interface DesignatedRevocation {
  /** Fingerprints (uppercase hex) of the revokers the certificate's valid self-signatures name. */
  revokers: string[];
  /** The named revokers no pinned or given certificate holds: their revocations cannot be checked. */
  unchecked: string[];
  /** The named revoker whose key revocation (0x20) of this certificate verified, or null. */
  revokedBy: string | null;
}

/** Any key packet openpgp.js can verify with (the public part of it). */
type KeyPacket = openpgp.PublicKey['keyPacket'] | openpgp.Subkey['keyPacket'];

/** Verify a signature made by `issuer` with openpgp.js, whatever issuer key ID the packet carries. */
async function verifiesBy(sig: openpgp.SignaturePacket, issuer: KeyPacket, type: number, data: object): Promise<boolean> {
  const claimed = sig.issuerKeyID;
  const revocationKeyClass = sig.revocationKeyClass;
  try {
    sig.issuerKeyID = issuer.getKeyID();
    // openpgp.js throws after a good check when the signature names a revoker; the revoker is handled here.
    sig.revocationKeyClass = null;
    await sig.verify(issuer, type, data, null as unknown as Date);
    return true;
  } catch {
    return false;
  } finally {
    sig.issuerKeyID = claimed;
    sig.revocationKeyClass = revocationKeyClass;
  }
}

/**
 * The revokers named by the certificate's self-signatures that verify (direct-key 0x1F, where GnuPG's `addrevoker`
 * puts them, and user ID certifications by the primary), all of them, old ones included: a revoker is honoured as
 * long as any valid self-signature of the certificate names it, which refuses more, never less.
 *
 * Once read, the revoker mark is taken off those packets (their signed bytes stay as they are), so that openpgp.js
 * weighs them as the ordinary self-signatures they also are: the revocation rule is enforced by this module.
 */
export async function namedRevokers(key: openpgp.PublicKey): Promise<string[]> {
  const primary = key.keyPacket;
  const selfSignatures: { sig: openpgp.SignaturePacket; data: object }[] = [
    // `directSignatures` is public in openpgp.js but missing from its type definitions.
    ...(key as unknown as { directSignatures: openpgp.SignaturePacket[] }).directSignatures.filter((s) => s.signatureType === openpgp.enums.signature.key).map((sig) => ({ sig, data: { key: primary } })),
    ...key.users.flatMap((u) => u.selfCertifications.map((sig) => ({ sig, data: { userID: u.userID, userAttribute: u.userAttribute, key: primary } }))),
  ];
  const out = new Set<string>();
  for (const { sig, data } of selfSignatures) {
    const named = revocationKeys(sig);
    if (named.length === 0 && sig.revocationKeyClass === null) continue;
    if (await verifiesBy(sig, primary, sig.signatureType!, data)) {
      for (const r of named) out.add(r.fingerprint);
      sig.revocationKeyClass = null;
    }
  }
  return [...out];
}

/**
 * Check the key revocations (0x20) on `key`, or on a copy of it in `pool`, made by its named revokers, with the
 * revokers' keys found in `pool` (the pinned certificates and those given with --revoker-key). Any reason, any date: like a revocation by the
 * primary itself, a designated revocation ends all trust in the certificate.
 */
export async function checkDesignatedRevocation(key: openpgp.PublicKey, revokers: readonly string[], pool: readonly openpgp.PublicKey[]): Promise<DesignatedRevocation> {
  const revokerKeys = new Map<string, KeyPacket>();
  for (const cert of pool) {
    for (const k of [cert, ...cert.subkeys]) {
      const fpr = k.getFingerprint().toUpperCase();
      if (revokers.includes(fpr)) revokerKeys.set(fpr, k.keyPacket);
    }
  }
  const unchecked = revokers.filter((r) => !revokerKeys.has(r));
  // The revocation may also come in another copy of this certificate among those given, such as the revocation
  // certificate `gpg --desig-revoke` writes (the primary key, the revocation and the self-signatures).
  const fpr = key.getFingerprint();
  const copies = [key, ...pool.filter((k) => k !== key && k.getFingerprint() === fpr)];
  let revokedBy: string | null = null;
  for (const sig of copies.flatMap((k) => k.revocationSignatures)) {
    if (sig.signatureType !== openpgp.enums.signature.keyRevocation) continue;
    for (const [fpr, packet] of revokerKeys) {
      if (await verifiesBy(sig, packet, openpgp.enums.signature.keyRevocation, { key: key.keyPacket })) {
        revokedBy = fpr;
        break;
      }
    }
    if (revokedBy) break;
  }
  return { revokers: [...revokers], unchecked, revokedBy };
}
