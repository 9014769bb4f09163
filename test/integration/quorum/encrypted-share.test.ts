import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptShare, encryptShareForCustodian, isEncryptedShare } from '../../../ceremony/quorum/encrypt.js';
import { formatShare, parseShare } from '../../../ceremony/quorum/share.js';
import { QuorumSession } from '../../../ceremony/quorum/session.js';
import { newQuorumSecret } from '../../../ceremony/quorum/secret.js';
import { splitQuorumSecret } from '../../../ceremony/quorum/split.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { makeGpgCustodian } from './gpg-custodian.js';

const alice = makeGpgCustodian('Alice <alice@example.org>');
const aliceRsa = makeGpgCustodian('Alice RSA <alice-rsa@example.org>', 'rsa3072');
const mallory = makeGpgCustodian('Mallory <mallory@example.org>');
const work = mkdtempSync(join(tmpdir(), 'ceremony-enc-'));
afterAll(() => {
  for (const c of [alice, aliceRsa, mallory]) c.cleanup();
  rmSync(work, { recursive: true, force: true });
});

const secret = newQuorumSecret();
const { descriptor, shares } = await splitQuorumSecret(secret, { threshold: 2, custodians: ['alice', 'bob', 'carol'] });
const passphrase = 'custodian test passphrase';

describe('share encrypted to the custodian', () => {
  test.each([
    ['a Curve25519 key', alice],
    ['an RSA key', aliceRsa],
  ])('gpg -d with %s decrypts it and the result is a working share', async (_name, custodian) => {
    const armored = await encryptShareForCustodian(formatShare(shares[0]!), custodian.publicKey, 'alice');
    expect(isEncryptedShare(armored)).toBe(true);
    expect(armored).not.toContain(shares[0]!.data.toString('hex').slice(0, 8));
    const file = join(work, `alice-${custodian === alice ? 'ecc' : 'rsa'}.share.asc`);
    writeFileSync(file, armored);
    const r = custodian.gpg(['--decrypt', file]);
    expect(r.status, r.stderr).toBe(0);
    const session = new QuorumSession(descriptor);
    session.add(r.stdout, 'alice (decrypted by gpg)');
    session.add(formatShare(shares[1]!), 'bob.share');
    expect((await session.recover()).secret.equals(secret)).toBe(true);
    session.wipe();
  });

  test('decryptShare with the custodian key and passphrase gives the share back', async () => {
    const armored = await encryptShareForCustodian(formatShare(shares[2]!), alice.publicKey);
    const plain = await decryptShare(armored, alice.privateKey, Buffer.from(passphrase));
    expect(parseShare(plain, 'carol').data.equals(shares[2]!.data)).toBe(true);
  });

  test("wrong-recipient attack: another person's key cannot open the share", async () => {
    const armored = await encryptShareForCustodian(formatShare(shares[0]!), alice.publicKey);
    await expect(decryptShare(armored, mallory.privateKey, passphrase)).rejects.toMatchObject({ code: 'SHARE_INVALID' });
    const r = mallory.gpg(['--decrypt'], armored);
    expect(r.status).not.toBe(0);
  });

  test('ciphertext-tampering attack: an altered encrypted share does not decrypt', async () => {
    const armored = await encryptShareForCustodian(formatShare(shares[0]!), alice.publicKey);
    const lines = armored.split('\n');
    const i = lines.findIndex((l) => l.length > 60) + 2;
    lines[i] = lines[i]!.slice(0, 10) + (lines[i]![10] === 'A' ? 'B' : 'A') + lines[i]!.slice(11);
    try {
      await decryptShare(lines.join('\n'), alice.privateKey, passphrase);
      throw new Error('decrypted');
    } catch (e) {
      expect(isCeremonyError(e)).toBe(true);
      expect(['SHARE_INVALID', 'SHARE_MALFORMED']).toContain((e as { code: string }).code);
    }
  });

  test('a wrong passphrase or none is refused', async () => {
    const armored = await encryptShareForCustodian(formatShare(shares[0]!), alice.publicKey);
    await expect(decryptShare(armored, alice.privateKey, 'wrong')).rejects.toMatchObject({ code: 'REJECTED' });
    await expect(decryptShare(armored, alice.privateKey)).rejects.toMatchObject({ code: 'USAGE' });
  });

  test('a public key that is not OpenPGP is CERTIFICATE_MALFORMED', async () => {
    await expect(encryptShareForCustodian('x', 'not a key', 'alice')).rejects.toMatchObject({ code: 'CERTIFICATE_MALFORMED' });
  });
});
