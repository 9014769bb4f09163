/**
 * Checking a record's seal: the armored detached OpenPGP signature log.jsonl.asc over the exact bytes of
 * log.jsonl (RFC 9580 §5.2.4, signature type 0x00), with openpgp.js. The signer must be a key (primary
 * or subkey) of a certificate in the record's keys/ and, when the auditor pins certificates
 * (--trusted-key), of a pinned one: the record's own keys/ prove nothing on their own, since whoever
 * rewrites a record can also replace keys/.
 */
import * as openpgp from 'openpgp';
import { finding, type Finding } from './findings.js';

export interface CertificateSummary {
  /** The file under keys/ (or "trusted #n" for a pinned certificate). */
  source: string;
  fingerprint: string;
  userIds: string[];
  created: string;
  subkeys: { fingerprint: string; created: string; expires?: string }[];
  expires?: string;
}

export interface SealStatus {
  present: boolean;
  valid: boolean;
  /** Primary fingerprint of the certificate whose key made the seal. */
  signerFingerprint?: string;
  /** Fingerprint of the exact (sub)key that signed. */
  signingKeyFingerprint?: string;
  created?: string;
  pinned: boolean;
  inRecord: boolean;
}

export async function readCertificates(armored: { source: string; text: string }[]): Promise<{ keys: { source: string; key: openpgp.Key }[]; findings: Finding[] }> {
  const keys: { source: string; key: openpgp.Key }[] = [];
  const findings: Finding[] = [];
  for (const { source, text } of armored) {
    try {
      for (const key of await openpgp.readKeys({ armoredKeys: text })) {
        if (key.isPrivate()) {
          findings.push(finding('key-file-malformed', `${source} holds a private key, which no record may contain`));
          continue;
        }
        keys.push({ source, key });
      }
    } catch {
      findings.push(finding('key-file-malformed', `${source} is not an OpenPGP certificate`));
    }
  }
  return { keys, findings };
}

export async function summarizeCertificate(source: string, key: openpgp.Key): Promise<CertificateSummary> {
  const iso = (d: Date | number | null) => (d instanceof Date ? d.toISOString() : undefined);
  let expires: string | undefined;
  try {
    expires = iso(await key.getExpirationTime());
  } catch {
    expires = undefined;
  }
  const subkeys = [];
  for (const s of key.getSubkeys()) {
    let e: string | undefined;
    try {
      e = iso(await s.getExpirationTime());
    } catch {
      e = undefined;
    }
    subkeys.push({ fingerprint: s.getFingerprint().toUpperCase(), created: s.getCreationTime().toISOString(), ...(e ? { expires: e } : {}) });
  }
  return {
    source,
    fingerprint: key.getFingerprint().toUpperCase(),
    userIds: key.getUserIDs(),
    created: key.getCreationTime().toISOString(),
    subkeys,
    ...(expires ? { expires } : {}),
  };
}

interface Verified {
  primary: string;
  signing: string;
  created?: string;
}

/** Verify every signature in `armoredSignature` over `data` against `keys`; all must verify. */
async function verifyAgainst(data: Buffer, signature: openpgp.Signature, keys: openpgp.Key[]): Promise<Verified | undefined> {
  if (keys.length === 0) return undefined;
  const message = await openpgp.createMessage({ binary: data });
  const result = await openpgp.verify({ message, signature, verificationKeys: keys, format: 'binary' });
  if (result.signatures.length === 0) return undefined;
  let found: Verified | undefined;
  for (const s of result.signatures) {
    try {
      await s.verified;
    } catch {
      return undefined;
    }
    const owner = keys.find((k) => k.getKeys(s.keyID).length > 0);
    if (!owner) return undefined;
    const sig = await s.signature;
    const created = sig.packets[0]?.created;
    found = {
      primary: owner.getFingerprint().toUpperCase(),
      signing: owner.getKeys(s.keyID)[0]!.getFingerprint().toUpperCase(),
      ...(created instanceof Date ? { created: created.toISOString() } : {}),
    };
  }
  return found;
}

export async function checkSeal(
  logBytes: Buffer,
  sealText: string | undefined,
  recordKeys: openpgp.Key[],
  trustedKeys: openpgp.Key[] | undefined,
): Promise<{ status: SealStatus; findings: Finding[] }> {
  const none: SealStatus = { present: false, valid: false, pinned: false, inRecord: false };
  if (sealText === undefined) return { status: none, findings: [] };
  let signature: openpgp.Signature;
  try {
    signature = await openpgp.readSignature({ armoredSignature: sealText });
  } catch {
    return { status: { ...none, present: true }, findings: [finding('seal-malformed', 'log.jsonl.asc is not an armored OpenPGP signature')] };
  }
  const byRecord = await verifyAgainst(logBytes, signature, recordKeys).catch(() => undefined);
  const byTrusted = trustedKeys ? await verifyAgainst(logBytes, signature, trustedKeys).catch(() => undefined) : undefined;
  const any = byTrusted ?? byRecord;
  const status: SealStatus = {
    present: true,
    valid: any !== undefined,
    pinned: byTrusted !== undefined,
    inRecord: byRecord !== undefined,
    ...(any ? { signerFingerprint: any.primary, signingKeyFingerprint: any.signing, ...(any.created ? { created: any.created } : {}) } : {}),
  };
  const findings: Finding[] = [];
  if (!any) {
    findings.push(
      finding(
        'seal-invalid',
        trustedKeys
          ? 'the seal log.jsonl.asc does not verify over log.jsonl with any pinned certificate or any certificate in keys/'
          : 'the seal log.jsonl.asc does not verify over log.jsonl with any certificate in keys/',
      ),
    );
    return { status, findings };
  }
  if (trustedKeys && !byTrusted) {
    findings.push(finding('seal-untrusted', `the seal was made by ${any.primary}, which is not a pinned certificate (--trusted-key)`));
  }
  if (!byRecord) {
    findings.push(finding('seal-key-not-in-record', `the seal was made by ${any.primary}, whose certificate is not in the record's keys/`));
  }
  if (!trustedKeys) {
    findings.push(finding('seal-not-pinned', `the seal verifies with ${any.primary} from the record's own keys/; pin the expected certificate with --trusted-key to rule out a re-sealed record`));
  }
  return { status, findings };
}
