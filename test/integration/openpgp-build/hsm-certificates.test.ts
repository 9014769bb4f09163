/**
 * OpenPGP certificates and detached signatures made on real SoftHSM tokens, checked by real GnuPG 2.2
 * (issue 4 "OpenPGP signatures made on the HSM", the building blocks of issue 5).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../../helpers/softhsm.js';
import { closeModule, openModule } from '../../../ceremony/hsm/module.js';
import { PinAttempts, TokenSession } from '../../../ceremony/hsm/token.js';
import { findPrivateKey, generateRsaKeyPair, type KeyInfo } from '../../../ceremony/hsm/keys.js';
import { TokenKeySigner } from '../../../ceremony/hsm/token-signer.js';
import { envPinSource } from '../../../ceremony/hsm/pin.js';
import { parsePkcs11Uri } from '../../../ceremony/hsm/uri.js';
import {
  addSigningSubkey,
  buildPrimaryCertificate,
  createDetachedSignature,
  digestWithSuffix,
  prepareDetachedSignature,
  exportCertificate,
  verifyDetachedSignature,
  type PrimaryKeyFlags,
} from '../../../ceremony/openpgp/build/index.js';
import { findOpenpgpKeys, newestSigningKey, readCertificate, storeCertificate } from '../../../ceremony/openpgp/hsm-store.js';
import { makeGpgHome as makeGpg, type GpgHome as Gpg } from '../../helpers/gpg.js';

const PIN = '864209';
const DAY = 86_400_000;
let hsm: SoftHsm;
let gpg: Gpg;
let work: string;
let restore: () => void;
const sessions: TokenSession[] = [];

beforeEach(() => {
  hsm = makeSoftHsm();
  hsm.initToken('root', PIN);
  hsm.initToken('signing', PIN);
  restore = hsm.activate();
  gpg = makeGpg();
  work = mkdtempSync(join(tmpdir(), 'ceremony-openpgp-'));
});
afterEach(() => {
  for (const s of sessions.splice(0)) s.close();
  closeModule();
  restore();
  gpg.cleanup();
  hsm.cleanup();
  rmSync(work, { recursive: true, force: true });
});

async function session(token: string): Promise<TokenSession> {
  const ts = TokenSession.open(openModule(SOFTHSM_MODULE), parsePkcs11Uri(`pkcs11:token=${token}`));
  await ts.login(envPinSource({ CEREMONY_PIN: PIN }), new PinAttempts());
  sessions.push(ts);
  return ts;
}

const now = () => new Date(Date.now() - 60_000);

interface Hierarchy {
  root: TokenSession;
  signing: TokenSession;
  rootKey: KeyInfo;
  rootSigner: TokenKeySigner;
  certificate: Uint8Array;
  primaryFingerprint: string;
  primaryRef: Awaited<ReturnType<typeof buildPrimaryCertificate>>['key'];
}

/** The init ceremony's key steps: root key on the root token, certificate built and stored there. */
async function makeRoot(keyFlags: PrimaryKeyFlags): Promise<Hierarchy> {
  const root = await session('root');
  const signing = await session('signing');
  const rootKey = generateRsaKeyPair(root, { label: 'root-key', bits: 2048, role: 'root' });
  const rootSigner = new TokenKeySigner(root, rootKey);
  const built = await buildPrimaryCertificate({ primary: rootSigner, created: new Date(Date.now() - DAY), userId: 'Example Image Signing Key <security@example.org>', keyFlags });
  storeCertificate(root, rootKey, built.certificate, built.key);
  return { root, signing, rootKey, rootSigner, certificate: built.certificate, primaryFingerprint: built.key.fingerprint, primaryRef: built.key };
}

/** A renewal's key steps: a new subkey on the signing token, bound by the root key on the root token. */
async function renew(h: Hierarchy, label: string, created: Date) {
  const subKey = generateRsaKeyPair(h.signing, { label, bits: 2048, role: 'signing-subkey', validDays: 395, now: created });
  const subSigner = new TokenKeySigner(h.signing, subKey);
  const added = await addSigningSubkey(h.certificate, {
    primary: h.rootSigner,
    subkey: subSigner,
    subkeyCreated: created,
    expires: new Date(created.getTime() + 395 * DAY),
    now: new Date(),
  });
  h.certificate = added.certificate;
  storeCertificate(h.root, h.rootKey, added.certificate, h.primaryRef);
  storeCertificate(h.signing, subKey, added.certificate, added.key);
  return { subSigner: new TokenKeySigner(h.signing, findPrivateKey(h.signing, parsePkcs11Uri(`pkcs11:object=${label}`))), ref: added.key };
}

function writeCert(h: Hierarchy, name = 'certificate.asc'): string {
  const path = join(work, name);
  writeFileSync(path, exportCertificate(h.certificate, 'armored'));
  return path;
}

function byType(records: string[][], type: string): string[][] {
  return records.filter((r) => r[0] === type);
}

describe('OpenPGP on SoftHSM, checked by GnuPG 2.2', () => {
  it('gpg imports a certify-only root certificate with two HSM-bound signing subkeys, each with its expiry, earlier subkeys kept', async () => {
    const h = await makeRoot('certify');
    const alone = writeCert(h, 'primary-only.asc');
    gpg.importKey(alone);
    let pub = byType(gpg.colons(), 'pub')[0]!;
    expect(pub[11]).toBe('cC'); // capabilities: the primary only certifies
    expect(byType(gpg.colons(), 'uid')[0]![9]).toBe('Example Image Signing Key <security@example.org>');

    const first = await renew(h, 'signing-2026', now());
    const second = await renew(h, 'signing-2027', new Date(Date.now() - 30_000));
    gpg.importKey(writeCert(h));
    const records = gpg.colons();
    pub = byType(records, 'pub')[0]!;
    expect(pub[4]).toBe(h.primaryFingerprint.slice(-16));
    expect(pub[11]).toBe('cSC'); // the primary certifies; the key as a whole can sign (through subkeys)
    const subs = byType(records, 'sub');
    expect(subs.map((s) => s[4])).toEqual([first.ref.keyId, second.ref.keyId]);
    for (const s of subs) {
      expect(s[1]).not.toMatch(/[reni]/); // not revoked, expired, invalid
      expect(s[11]).toBe('s');
      expect(Number(s[6]) - Number(s[5])).toBe(395 * 86_400); // expiry = creation + 395 days
    }
  });

  it('gpg verifies binary and armored detached signatures made on the signing token by the subkey (GOODSIG + VALIDSIG), and a tampered file gives BADSIG', async () => {
    const h = await makeRoot('certify');
    const { subSigner, ref } = await renew(h, 'signing-2026', now());
    gpg.importKey(writeCert(h));
    const file = join(work, 'flatcar_production_image.bin');
    writeFileSync(file, Buffer.alloc(2 * (1 << 20) + 3, 0x5a));

    const bin = await createDetachedSignature({ signer: subSigner, key: ref, input: file, created: now() });
    writeFileSync(`${file}.sig`, bin.output);
    const asc = await createDetachedSignature({ signer: subSigner, key: ref, input: file, created: now(), armor: true });
    writeFileSync(`${file}.asc`, asc.output);
    for (const sig of [`${file}.sig`, `${file}.asc`]) {
      const r = gpg.verify(sig, file);
      expect(r.code, r.status.join('\n')).toBe(0);
      expect(r.status.some((l) => l.startsWith(`GOODSIG ${ref.keyId} `))).toBe(true);
      const valid = r.status.find((l) => l.startsWith('VALIDSIG '))!.split(' ');
      expect(valid[1]).toBe(ref.fingerprint);
      // VALIDSIG fpr date ts expire version reserved pk-algo hash-algo class primary-fpr
      expect(valid[5]).toBe('4');
      expect(valid[7]).toBe('1'); // RSA
      expect(valid[8]).toBe('10'); // SHA-512
      expect(valid[9]).toBe('00'); // binary document
      expect(valid[10]).toBe(h.primaryFingerprint);
      expect(await verifyDetachedSignature({ certificate: h.certificate, signature: readFileSync(sig, sig.endsWith('.asc') ? 'utf8' : undefined) as string | Buffer, content: file })).toMatchObject({ role: 'subkey' });
    }

    const tampered = join(work, 'tampered.bin');
    const bytes = readFileSync(file);
    bytes[1 << 20] ^= 0x01;
    writeFileSync(tampered, bytes);
    const bad = gpg.verify(`${file}.sig`, tampered);
    expect(bad.code).toBe(1);
    expect(bad.status.some((l) => l.startsWith(`BADSIG ${ref.keyId} `))).toBe(true);
    expect(bad.status.some((l) => l.startsWith('GOODSIG'))).toBe(false);
  });

  it('a signature whose digest came from a ceremony\'s own pass over the file (fields fixed first) verifies with gpg', async () => {
    const h = await makeRoot('certify');
    const { subSigner, ref } = await renew(h, 'signing-2026', now());
    gpg.importKey(writeCert(h));
    const file = join(work, 'release.txt');
    writeFileSync(file, 'flatcar 4242.0.0\n');
    const prepared = prepareDetachedSignature({ key: ref, hash: 'sha512', created: now(), armor: true });
    const sig = await prepared.finish(await digestWithSuffix(file, 'sha512', prepared.suffix), subSigner);
    writeFileSync(`${file}.asc`, sig.output);
    expect(gpg.verify(`${file}.asc`, file).status.some((l) => l.startsWith('VALIDSIG '))).toBe(true);
  });

  it('GnuPG 2.2 refuses a data signature (transition.json.asc) by a certify-only primary; a certify+sign primary passes', async () => {
    const file = join(work, 'transition.json');
    writeFileSync(file, '{"old":null,"new":"x"}\n');
    const certifyOnly = await makeRoot('certify');
    const sig = await createDetachedSignature({ signer: certifyOnly.rootSigner, key: certifyOnly.primaryRef, input: file, created: now(), armor: true });
    writeFileSync(`${file}.asc`, sig.output);
    gpg.importKey(writeCert(certifyOnly));
    const refused = gpg.verify(`${file}.asc`, file);
    expect(refused.code).not.toBe(0);
    // ERRSIG ... 125 = GPG_ERR_WRONG_KEY_USAGE: gpg checks the primary's key flags for data signatures.
    expect(refused.status.find((l) => l.startsWith('ERRSIG '))?.split(' ')[6]).toBe('125');
    // The signature itself is sound: our independent check accepts it and says the key lacks the sign flag.
    expect(await verifyDetachedSignature({ certificate: certifyOnly.certificate, signature: sig.output, content: file })).toMatchObject({ role: 'primary', keyCanSign: false });

    for (const s of sessions.splice(0)) s.close();
    closeModule();
    restore();
    hsm.cleanup();
    hsm = makeSoftHsm();
    hsm.initToken('root', PIN);
    hsm.initToken('signing', PIN);
    restore = hsm.activate();
    const signing = await makeRoot('certify+sign');
    const sig2 = await createDetachedSignature({ signer: signing.rootSigner, key: signing.primaryRef, input: file, created: now(), armor: true });
    writeFileSync(`${file}.asc`, sig2.output);
    gpg.importKey(writeCert(signing, 'root-sc.asc'));
    const accepted = gpg.verify(`${file}.asc`, file);
    expect(accepted.code).toBe(0);
    expect(accepted.status.find((l) => l.startsWith('VALIDSIG '))?.split(' ')[1]).toBe(signing.primaryFingerprint);
    expect(byType(gpg.colons(), 'pub').find((p) => p[4] === signing.primaryFingerprint.slice(-16))![11]).toBe('scSC');
  });

  it('stores the certificate on each token and finds the newest valid signing key there, from the token alone', async () => {
    const h = await makeRoot('certify');
    const first = await renew(h, 'signing-2026', new Date(Date.now() - 120_000));
    const second = await renew(h, 'signing-2027', now());
    const found = await findOpenpgpKeys(h.signing);
    expect(found.map((f) => f.openpgp.keyId)).toEqual([second.ref.keyId, first.ref.keyId]);
    expect(found.every((f) => f.usable && f.canSign)).toBe(true);
    expect((await newestSigningKey(h.signing)).openpgp.fingerprint).toBe(second.ref.fingerprint);
    // The root token holds the whole, current certificate; its key is certify-only, so never a seal key.
    expect(Buffer.from(readCertificate(h.root, 'root-key')!).equals(Buffer.from(h.certificate))).toBe(true);
    const rootKeys = await findOpenpgpKeys(h.root);
    expect(rootKeys).toHaveLength(1);
    expect(rootKeys[0]).toMatchObject({ canSign: false, usable: false });
  });

  it('does not offer a key whose stored certificate belongs to another key (swapped data object)', async () => {
    const h = await makeRoot('certify+sign');
    const other = generateRsaKeyPair(h.root, { label: 'other', bits: 2048, role: 'openpgp-key' });
    // Put the root certificate under the other key's label: it does not hold that key.
    const err = (() => {
      try {
        storeCertificate(h.root, other, h.certificate, h.primaryRef);
        return undefined;
      } catch (e) {
        return e as { code?: string };
      }
    })();
    expect(err?.code).toBe('KEY_UNSUITABLE');
    expect((await findOpenpgpKeys(h.root)).map((k) => k.key.label)).toEqual(['root-key']);
  });
});
