import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { enums, PacketList, PublicKeyPacket, PublicSubkeyPacket, readKey, SignaturePacket, UserIDPacket, type AnyPacket } from 'openpgp';
import {
  addSigningSubkey,
  buildPrimaryCertificate,
  certificateKeys,
  exportCertificate,
  findCertificateKey,
  verifyCertificate,
} from '../../../ceremony/openpgp/build/index.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { keyFraming, makeSignature, subkeyPacket } from '../../../ceremony/openpgp/build/packets.js';
import { nodeSigner } from '../../helpers/node-signer.js';
import type { DigestSigner } from '../../../ceremony/signer.js';

const rsa = (bits = 2048): DigestSigner => nodeSigner(generateKeyPairSync('rsa', { modulusLength: bits }).privateKey);
const CREATED = new Date('2026-01-05T10:00:00.750Z');
const DAY = 86_400_000;
const ALLOWED = {
  [enums.packet.publicKey]: PublicKeyPacket,
  [enums.packet.publicSubkey]: PublicSubkeyPacket,
  [enums.packet.userID]: UserIDPacket,
  [enums.packet.signature]: SignaturePacket,
} as unknown as Parameters<typeof PacketList.fromBinary>[1];

async function packetsOf(cert: Uint8Array): Promise<PacketList<AnyPacket>> {
  return PacketList.fromBinary(cert, ALLOWED);
}

describe('buildPrimaryCertificate', () => {
  const root = rsa();

  it('writes a v4 RSA key packet, the user ID and a positive self-certification with the asked key flags', async () => {
    const { certificate, key } = await buildPrimaryCertificate({ primary: root, created: CREATED, userId: 'Root Key <root@example.org>', keyFlags: 'certify' });
    const packets = await packetsOf(certificate);
    expect(packets.map((p) => (p.constructor as { tag: number }).tag)).toEqual([enums.packet.publicKey, enums.packet.userID, enums.packet.signature]);
    const [pk, uid, sig] = packets as unknown as [PublicKeyPacket, UserIDPacket, SignaturePacket];
    expect(pk.version).toBe(4);
    expect(pk.algorithm).toBe(enums.publicKey.rsaEncryptSign);
    expect(pk.getCreationTime().toISOString()).toBe('2026-01-05T10:00:00.000Z');
    expect(uid.userID).toBe('Root Key <root@example.org>');
    expect(sig.signatureType).toBe(enums.signature.certPositive);
    expect(sig.hashAlgorithm).toBe(enums.hash.sha512);
    expect([...sig.keyFlags!]).toEqual([enums.keyFlags.certifyKeys]);
    expect(Buffer.from(sig.issuerFingerprint!).toString('hex').toUpperCase()).toBe(key.fingerprint);
    expect(key.keyId).toBe(key.fingerprint.slice(-16));
    expect(key.role).toBe('primary');
  });

  it('gives the same fingerprint and the same key packet for the same key and creation time', async () => {
    const a = await buildPrimaryCertificate({ primary: root, created: CREATED, userId: 'A <a@example.org>', keyFlags: 'certify' });
    const b = await buildPrimaryCertificate({ primary: root, created: new Date(CREATED.getTime() + 200), userId: 'B <b@example.org>', keyFlags: 'certify+sign', now: new Date(CREATED.getTime() + DAY) });
    const c = await buildPrimaryCertificate({ primary: root, created: new Date(CREATED.getTime() + 1000), userId: 'A <a@example.org>', keyFlags: 'certify' });
    expect(b.key.fingerprint).toBe(a.key.fingerprint);
    expect(Buffer.from(b.key.packet.write()).equals(Buffer.from(a.key.packet.write()))).toBe(true);
    expect(c.key.fingerprint).not.toBe(a.key.fingerprint);
  });

  it('round-trips through openpgp.js readKey with a valid self-signature, flags and expiry', async () => {
    const expires = new Date(CREATED.getTime() + 400 * DAY);
    const { certificate, key } = await buildPrimaryCertificate({ primary: root, created: CREATED, userId: 'Signer <s@example.org>', keyFlags: 'certify+sign', expires });
    const parsed = await readKey({ armoredKey: exportCertificate(certificate, 'armored') });
    expect(parsed.getFingerprint().toUpperCase()).toBe(key.fingerprint);
    expect(Buffer.from(parsed.write()).equals(Buffer.from(certificate))).toBe(true);
    const status = await verifyCertificate(certificate, new Date(CREATED.getTime() + DAY));
    expect(status.primary).toMatchObject({ canCertify: true, canSign: true, fingerprint: key.fingerprint });
    expect(status.primary.expires?.toISOString()).toBe(new Date(Math.floor(expires.getTime() / 1000) * 1000).toISOString());
    expect(status.userIds).toEqual(['Signer <s@example.org>']);
  });

  it('exports the same armored bytes every time', async () => {
    const { certificate } = await buildPrimaryCertificate({ primary: root, created: CREATED, userId: 'R <r@example.org>', keyFlags: 'certify' });
    const once = exportCertificate(certificate, 'armored');
    expect(exportCertificate(certificate, 'armored')).toBe(once);
    expect(once).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n[\s\S]+\n=[A-Za-z0-9+/]{4}\n-----END PGP PUBLIC KEY BLOCK-----\n$/);
  });

  it('refuses to certify a key packet with a different HSM key (signer/key mix-up)', async () => {
    const { certificate } = await buildPrimaryCertificate({ primary: root, created: CREATED, userId: 'R <r@example.org>', keyFlags: 'certify' });
    const impostor = rsa();
    const err = await addSigningSubkey(certificate, { primary: impostor, subkey: rsa(), subkeyCreated: CREATED, expires: new Date(CREATED.getTime() + DAY), now: CREATED }).catch((e: unknown) => e);
    expect(isCeremonyError(err, 'KEY_UNSUITABLE')).toBe(true);
  });

  it('refuses a multi-line user ID (packet injection through the uid)', async () => {
    const err = await buildPrimaryCertificate({ primary: root, created: CREATED, userId: 'A <a@b.org>\nB', keyFlags: 'certify' }).catch((e: unknown) => e);
    expect(isCeremonyError(err, 'USAGE')).toBe(true);
  });
});

describe('addSigningSubkey', () => {
  const root = rsa();
  const sub1 = rsa();
  const sub2 = rsa();

  it('binds subkeys with binding + back-signature, keeps earlier subkeys byte for byte, and openpgp.js validates them', async () => {
    const primary = await buildPrimaryCertificate({ primary: root, created: CREATED, userId: 'Root <root@example.org>', keyFlags: 'certify' });
    const year1 = new Date(CREATED.getTime() + 395 * DAY);
    const one = await addSigningSubkey(primary.certificate, { primary: root, subkey: sub1, subkeyCreated: CREATED, expires: year1, now: CREATED });
    const renewal = new Date(CREATED.getTime() + 330 * DAY);
    const two = await addSigningSubkey(one.certificate, { primary: root, subkey: sub2, subkeyCreated: renewal, expires: new Date(renewal.getTime() + 395 * DAY), now: renewal });
    expect(Buffer.from(two.certificate.subarray(0, one.certificate.length)).equals(Buffer.from(one.certificate))).toBe(true);

    const packets = await packetsOf(two.certificate);
    const bindings = packets.filter((p) => p instanceof SignaturePacket && p.signatureType === enums.signature.subkeyBinding) as SignaturePacket[];
    expect(bindings).toHaveLength(2);
    for (const b of bindings) {
      expect([...b.keyFlags!]).toEqual([enums.keyFlags.signData]);
      expect(b.embeddedSignature?.signatureType).toBe(enums.signature.keyBinding);
    }
    expect(Buffer.from(bindings[1]!.embeddedSignature!.issuerFingerprint!).toString('hex').toUpperCase()).toBe(two.key.fingerprint);

    const status = await verifyCertificate(two.certificate, new Date(renewal.getTime() + DAY));
    expect(status.primary).toMatchObject({ canCertify: true, canSign: false });
    expect(status.subkeys.map((s) => s.fingerprint)).toEqual([one.key.fingerprint, two.key.fingerprint]);
    expect(status.subkeys.every((s) => s.canSign)).toBe(true);
    expect(status.subkeys[0]!.expires?.getTime()).toBe(Math.floor(year1.getTime() / 1000) * 1000);
    // A year later the first subkey has expired: still listed, with its expiry, and the certificate still checks.
    const after = await verifyCertificate(two.certificate, new Date(CREATED.getTime() + 400 * DAY));
    expect(after.subkeys[0]!.expires!.getTime()).toBeLessThan(CREATED.getTime() + 400 * DAY);
    expect(after.subkeys[1]!.expires!.getTime()).toBeGreaterThan(CREATED.getTime() + 400 * DAY);
    expect((await certificateKeys(two.certificate)).map((k) => k.role)).toEqual(['primary', 'subkey', 'subkey']);
    expect((await findCertificateKey(two.certificate, two.key.keyId.toLowerCase())).fingerprint).toBe(two.key.fingerprint);
  });

  it('refuses a certificate whose subkey packet was swapped under an existing binding', async () => {
    const primary = await buildPrimaryCertificate({ primary: root, created: CREATED, userId: 'Root <root@example.org>', keyFlags: 'certify' });
    const one = await addSigningSubkey(primary.certificate, { primary: root, subkey: sub1, subkeyCreated: CREATED, expires: new Date(CREATED.getTime() + 30 * DAY), now: CREATED });
    // Rebuild with the stranger's subkey packet but keep sub1's (valid-for-sub1) binding: the binding hash no longer matches.
    const stranger = await addSigningSubkey(primary.certificate, { primary: root, subkey: sub2, subkeyCreated: CREATED, expires: new Date(CREATED.getTime() + 30 * DAY), now: CREATED });
    const a = await packetsOf(one.certificate);
    const b = await packetsOf(stranger.certificate);
    const forged = new PacketList<AnyPacket>();
    forged.push(a[0]!, a[1]!, a[2]!, b[3]!, a[4]!);
    const err = await verifyCertificate(forged.write(), new Date(CREATED.getTime() + DAY)).catch((e: unknown) => e);
    expect(isCeremonyError(err, 'SELF_CHECK_FAILED')).toBe(true);
  });

  for (const variant of ['a back-signature made by another subkey', 'no back-signature'] as const) {
    it(`refuses binding a stranger's signing key with ${variant} (RFC 4880 §11.1 cross-certification)`, async () => {
      const primary = await buildPrimaryCertificate({ primary: root, created: CREATED, userId: 'Root <root@example.org>', keyFlags: 'certify' });
      const mine = await addSigningSubkey(primary.certificate, { primary: root, subkey: sub1, subkeyCreated: CREATED, expires: new Date(CREATED.getTime() + 30 * DAY), now: CREATED });
      const myBackSig = ((await packetsOf(mine.certificate))[4] as SignaturePacket).embeddedSignature!;
      // The root key holder binds sub2, which never signed anything: the stolen-identity attack.
      const strangerKey = await subkeyPacket(sub2.publicKey, CREATED);
      const rootPacket = (await packetsOf(primary.certificate))[0] as PublicKeyPacket;
      const binding = await makeSignature(Buffer.concat([keyFraming(rootPacket), keyFraming(strangerKey)]), {
        type: enums.signature.subkeyBinding,
        hash: 'sha512',
        created: CREATED,
        issuer: rootPacket,
        signer: root,
        subpackets: (sig) => {
          sig.keyFlags = Uint8Array.from([enums.keyFlags.signData]);
          if (variant === 'a back-signature made by another subkey') sig.embeddedSignature = myBackSig;
        },
      });
      const forged = await packetsOf(primary.certificate);
      forged.push(strangerKey, binding);
      const err = await verifyCertificate(forged.write(), new Date(CREATED.getTime() + DAY)).catch((e: unknown) => e);
      expect(isCeremonyError(err, 'SELF_CHECK_FAILED')).toBe(true);
      expect((err as Error).message).toMatch(/back-signature/);
    });
  }

  it('refuses to add the same subkey twice', async () => {
    const primary = await buildPrimaryCertificate({ primary: root, created: CREATED, userId: 'Root <root@example.org>', keyFlags: 'certify' });
    const one = await addSigningSubkey(primary.certificate, { primary: root, subkey: sub1, subkeyCreated: CREATED, expires: new Date(CREATED.getTime() + DAY), now: CREATED });
    const err = await addSigningSubkey(one.certificate, { primary: root, subkey: sub1, subkeyCreated: CREATED, expires: new Date(CREATED.getTime() + DAY), now: CREATED }).catch((e: unknown) => e);
    expect(isCeremonyError(err, 'USAGE')).toBe(true);
  });

  it('refuses malformed certificate bytes', async () => {
    const err = await addSigningSubkey(Buffer.from('not a certificate'), { primary: root, subkey: sub1, subkeyCreated: CREATED, expires: new Date(CREATED.getTime() + DAY), now: CREATED }).catch((e: unknown) => e);
    expect(isCeremonyError(err, 'CERTIFICATE_MALFORMED')).toBe(true);
  });
});
