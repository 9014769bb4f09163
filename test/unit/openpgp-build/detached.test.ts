import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMessage, enums, readKey, readSignature, verify } from 'openpgp';
import {
  addSigningSubkey,
  buildPrimaryCertificate,
  createDetachedSignature,
  prepareDetachedSignature,
  verifyDetachedSignature,
} from '../../../ceremony/openpgp/build/index.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import type { DigestSigner } from '../../../ceremony/signer.js';
import { nodeSigner } from '../../helpers/node-signer.js';

const rsa = (): DigestSigner => nodeSigner(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
const T0 = new Date('2026-03-01T00:00:00Z');
const LATER = new Date('2026-03-02T00:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'openpgp-detached-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('detached signatures', async () => {
  const root = rsa();
  const sub = rsa();
  const primary = await buildPrimaryCertificate({ primary: root, created: T0, userId: 'Root <root@example.org>', keyFlags: 'certify' });
  const withSub = await addSigningSubkey(primary.certificate, { primary: root, subkey: sub, subkeyCreated: T0, expires: new Date('2027-03-01T00:00:00Z'), now: T0 });
  const file = join(dir, 'release.bin');
  const content = Buffer.alloc(3 * (1 << 20) + 17, 7);
  content[12345] = 1;
  writeFileSync(file, content);

  it('signs a streamed file with the subkey; openpgp.js verify() accepts it with the exported certificate', async () => {
    const sig = await createDetachedSignature({ signer: sub, key: withSub.key, input: file, created: T0, armor: true });
    expect(typeof sig.output).toBe('string');
    expect(sig.output as string).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
    const packet = (await readSignature({ armoredSignature: sig.output as string })).packets[0]!;
    expect(packet.signatureType).toBe(enums.signature.binary);
    expect(packet.hashAlgorithm).toBe(enums.hash.sha512);
    expect(Buffer.from(packet.issuerFingerprint!).toString('hex').toUpperCase()).toBe(withSub.key.fingerprint);
    expect(packet.issuerKeyID.toHex().toUpperCase()).toBe(withSub.key.keyId);

    const result = await verify({
      message: await createMessage({ binary: content }),
      signature: await readSignature({ armoredSignature: sig.output as string }),
      verificationKeys: await readKey({ binaryKey: withSub.certificate }),
      date: LATER,
      expectSigned: true,
    });
    expect(result.signatures[0]!.keyID.toHex().toUpperCase()).toBe(withSub.key.keyId);

    const check = await verifyDetachedSignature({ certificate: withSub.certificate, signature: sig.output, content: file, date: LATER });
    expect(check).toMatchObject({ fingerprint: withSub.key.fingerprint, role: 'subkey', keyCanSign: true, hash: 'sha512' });
  });

  it('gives the same signature when the caller hashes document ‖ suffix in its own pass (prepareDetachedSignature)', async () => {
    const prepared = prepareDetachedSignature({ key: withSub.key, created: T0 });
    const digest = createHash(prepared.hash).update(content).update(prepared.suffix).digest();
    const fromPass = await prepared.finish(digest, sub);
    const fromFile = await createDetachedSignature({ signer: sub, key: withSub.key, input: file, created: T0 });
    expect(Buffer.from(fromPass.binary).equals(Buffer.from(fromFile.binary))).toBe(true);
    await expect(verifyDetachedSignature({ certificate: withSub.certificate, signature: fromPass.binary, content: { signedDigest: digest, algorithm: 'sha512' }, date: LATER })).resolves.toMatchObject({ role: 'subkey' });
    // a digest of other content is refused by the signer's own check and by the self-check
    const other = createHash('sha512').update('other').update(prepared.suffix).digest();
    await expect(verifyDetachedSignature({ certificate: withSub.certificate, signature: fromPass.binary, content: { signedDigest: other, algorithm: 'sha512' }, date: LATER })).rejects.toMatchObject({ code: 'SELF_CHECK_FAILED' });
  });

  it('fixes the fields from the key packet alone; one preparation signs several documents, each its own packet', async () => {
    const prepared = prepareDetachedSignature({ key: withSub.key, created: T0 });
    const digestOf = (b: Buffer) => createHash(prepared.hash).update(b).update(prepared.suffix).digest();
    const first = await prepared.finish(digestOf(content), sub);
    const second = await prepared.finish(digestOf(Buffer.from('another release file')), sub);
    expect(Buffer.from(first.binary).equals(Buffer.from(second.binary))).toBe(false);
    const fromFile = await createDetachedSignature({ signer: sub, key: withSub.key, input: file, created: T0 });
    expect(Buffer.from(first.binary).equals(Buffer.from(fromFile.binary))).toBe(true);
    await expect(verifyDetachedSignature({ certificate: withSub.certificate, signature: second.binary, content: Buffer.from('another release file'), date: LATER })).resolves.toMatchObject({ role: 'subkey' });
  });

  it('a token key that is not the prepared key cannot finish the signature (a key swapped on the token after the fields were hashed)', async () => {
    const prepared = prepareDetachedSignature({ key: withSub.key, created: T0 });
    const digest = createHash(prepared.hash).update(content).update(prepared.suffix).digest();
    await expect(prepared.finish(digest, rsa())).rejects.toSatisfy((e: unknown) => isCeremonyError(e, 'KEY_UNSUITABLE'));
    await expect(prepared.finish(digest, root)).rejects.toSatisfy((e: unknown) => isCeremonyError(e, 'KEY_UNSUITABLE'));
  });

  it('gives the same signature over a file read by the core\'s file hasher as over its bytes; the self-check reads either', async () => {
    const fromBytes = await createDetachedSignature({ signer: sub, key: withSub.key, input: content, created: T0 });
    const fromFile = await createDetachedSignature({ signer: sub, key: withSub.key, input: file, created: T0 });
    // RSA PKCS#1 v1.5 is deterministic: same digest, same key, same bytes.
    expect(Buffer.from(fromBytes.binary).equals(Buffer.from(fromFile.binary))).toBe(true);
    await expect(verifyDetachedSignature({ certificate: withSub.certificate, signature: fromBytes.binary, content: file, date: LATER })).resolves.toMatchObject({ role: 'subkey' });
    await expect(verifyDetachedSignature({ certificate: withSub.certificate, signature: fromFile.binary, content: content, date: LATER })).resolves.toMatchObject({ role: 'subkey' });
    const changed = Buffer.from(content);
    changed[0] ^= 1;
    await expect(verifyDetachedSignature({ certificate: withSub.certificate, signature: fromFile.binary, content: changed, date: LATER })).rejects.toMatchObject({ code: 'SELF_CHECK_FAILED' });
  });

  it('signs with SHA-256 when asked', async () => {
    const sig = await createDetachedSignature({ signer: sub, key: withSub.key, input: content, created: T0, hash: 'sha256' });
    expect((await verifyDetachedSignature({ certificate: withSub.certificate, signature: sig.binary, content, date: LATER })).hash).toBe('sha256');
  });

  it('lets a certify-only primary sign data and reports that it lacks the sign flag', async () => {
    const sig = await createDetachedSignature({ signer: root, key: primary.key, input: Buffer.from('{"transition":1}\n'), created: T0, armor: true });
    const check = await verifyDetachedSignature({ certificate: withSub.certificate, signature: sig.output, content: Buffer.from('{"transition":1}\n'), date: LATER });
    expect(check).toMatchObject({ role: 'primary', keyCanSign: false, fingerprint: primary.key.fingerprint });
  });

  it('self-check refuses a signature over a tampered file (one flipped byte)', async () => {
    const sig = await createDetachedSignature({ signer: sub, key: withSub.key, input: file, created: T0 });
    const tampered = Buffer.from(content);
    tampered[1 << 20] ^= 1;
    const err = await verifyDetachedSignature({ certificate: withSub.certificate, signature: sig.binary, content: tampered, date: LATER }).catch((e: unknown) => e);
    expect(isCeremonyError(err, 'SELF_CHECK_FAILED')).toBe(true);
  });

  it('self-check refuses a signature checked against a certificate that does not hold its key (wrong certificate exported)', async () => {
    const sig = await createDetachedSignature({ signer: sub, key: withSub.key, input: content, created: T0 });
    const err = await verifyDetachedSignature({ certificate: primary.certificate, signature: sig.binary, content, date: LATER }).catch((e: unknown) => e);
    expect(isCeremonyError(err, 'SELF_CHECK_FAILED')).toBe(true);
  });

  it('refuses to sign for a key packet the signer does not hold (subkey/token mix-up)', async () => {
    const err = await createDetachedSignature({ signer: root, key: withSub.key, input: content, created: T0 }).catch((e: unknown) => e);
    expect(isCeremonyError(err, 'KEY_UNSUITABLE')).toBe(true);
  });

  it('refuses a token that returns a signature that does not verify (faulty or swapped HSM key)', async () => {
    const faulty: DigestSigner = { ...sub, signDigest: async (h, d) => root.signDigest(h, d) };
    const err = await createDetachedSignature({ signer: faulty, key: withSub.key, input: content, created: T0 }).catch((e: unknown) => e);
    expect(isCeremonyError(err, 'SELF_CHECK_FAILED')).toBe(true);
  });

  it('says which file it could not read', async () => {
    const err = await createDetachedSignature({ signer: sub, key: withSub.key, input: join(dir, 'missing'), created: T0 }).catch((e: unknown) => e);
    expect(isCeremonyError(err, 'INPUT_UNREADABLE')).toBe(true);
  });
});

describe('signature dates', async () => {
  const key = rsa();
  const built = await buildPrimaryCertificate({ primary: key, created: T0, userId: 'K <k@example.org>', keyFlags: 'certify+sign' });

  it('refuses to date a signature before its key was created (GnuPG would reject it as made by a key from the future)', async () => {
    const err = await createDetachedSignature({ signer: key, key: built.key, input: Buffer.from('x'), created: new Date(T0.getTime() - 1000) }).catch((e: unknown) => e);
    expect(isCeremonyError(err, 'USAGE')).toBe(true);
  });

  it('refuses to bind a subkey before its creation time', async () => {
    const err = await addSigningSubkey(built.certificate, { primary: key, subkey: rsa(), subkeyCreated: LATER, expires: new Date(LATER.getTime() + 1e9), now: T0 }).catch((e: unknown) => e);
    expect(isCeremonyError(err, 'USAGE')).toBe(true);
  });
});
