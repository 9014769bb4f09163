/**
 * Subkey bindings as strict as the README says (issue 12.3): the embedded back-signature must be a primary key
 * binding signature (RFC 4880 §5.2.1, 0x19), and a binding signature past its own expiration time (§5.2.3.10)
 * binds nothing. The certificates are built packet by packet with openpgp.js (GnuPG cannot be told to make these
 * mistakes); GnuPG's verdict on each is asserted beside ours.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as openpgp from 'openpgp';
import { loadTrustedCertificates } from '../../../ceremony/openpgp/verify/certificate.js';
import { verifyReleaseFiles } from '../../../ceremony/release/verify-release.js';
import { makeGpgHome } from '../../helpers/gpg.js';

const DAY_MS = 86_400_000;
const now = new Date();
const made = new Date(now.getTime() - 10 * DAY_MS);

let dir: string;
let file: string;
let signedWhileBound: string;
let signedNow: string;
let n = 0;

/** A fresh key: certify-only ed25519 primary (as a build server has) and one signing subkey, made ten days ago. */
async function freshKey(): Promise<openpgp.PrivateKey> {
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'Binding Test', email: 'binding@example.invalid' }],
    subkeys: [{ sign: true }],
    date: made,
    format: 'object',
  });
  return privateKey;
}

let key: openpgp.PrivateKey;

/** Replace the subkey's binding with one made as told; returns the path of the exported public certificate. */
async function rebind(opts: { backType?: number; bindingLifetimeSeconds?: number }): Promise<string> {
  const k = (await openpgp.readKey({ armoredKey: key.armor() })) as openpgp.PrivateKey;
  const primary = k.keyPacket as openpgp.SecretKeyPacket;
  const sub = k.subkeys[0]!.keyPacket as openpgp.SecretSubkeyPacket;
  const back = new openpgp.SignaturePacket();
  back.signatureType = opts.backType ?? openpgp.enums.signature.keyBinding;
  back.publicKeyAlgorithm = sub.algorithm;
  back.hashAlgorithm = openpgp.enums.hash.sha256;
  await back.sign(sub, { key: primary, bind: sub }, made, false, openpgp.config);
  const binding = new openpgp.SignaturePacket();
  binding.signatureType = openpgp.enums.signature.subkeyBinding;
  binding.publicKeyAlgorithm = primary.algorithm;
  binding.hashAlgorithm = openpgp.enums.hash.sha256;
  binding.keyFlags = [openpgp.enums.keyFlags.signData];
  binding.embeddedSignature = back;
  binding.signatureExpirationTime = opts.bindingLifetimeSeconds ?? null;
  binding.signatureNeverExpires = opts.bindingLifetimeSeconds === undefined;
  await binding.sign(primary, { key: primary, bind: sub }, made, false, openpgp.config);
  k.subkeys[0]!.bindingSignatures = [binding];
  const out = join(dir, `cert-${++n}.asc`);
  writeFileSync(out, k.toPublic().armor());
  return out;
}

async function ours(cert: string, signature: string) {
  const trusted = await loadTrustedCertificates([cert], now);
  return (await verifyReleaseFiles([file], { trusted, now, signature, requireDigests: false }))[0]!;
}

function gnupgAccepts(cert: string, signature: string): boolean {
  const g = makeGpgHome();
  try {
    g.run(['--import', cert]);
    return g.verify(signature, file).status.some((l) => l.startsWith('VALIDSIG '));
  } finally {
    g.cleanup();
  }
}

/** Sequoia's verdict (`sqv` exits 0 when one pinned certificate made a good signature). */
function sqvAccepts(cert: string, signature: string): boolean {
  return spawnSync('sqv', ['--keyring', cert, signature, file], { encoding: 'utf8' }).status === 0;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'binding-'));
  key = await freshKey();
  file = join(dir, 'release.bin');
  const data = Buffer.from('release built by the server\n');
  writeFileSync(file, data);
  const sign = async (date: Date, out: string) => {
    const message = await openpgp.createMessage({ binary: data });
    writeFileSync(out, (await openpgp.sign({ message, signingKeys: key, detached: true, format: 'binary', date })) as Uint8Array);
    return out;
  };
  signedWhileBound = await sign(new Date(made.getTime() + DAY_MS / 2), join(dir, 'while-bound.sig'));
  signedNow = await sign(now, join(dir, 'now.sig'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('subkey binding attacks', () => {
  it('accepts the well-formed binding the attacks below start from (0x19 back-signature, no binding expiry)', async () => {
    const cert = await rebind({});
    const r = await ours(cert, signedNow);
    expect(r).toMatchObject({ status: 'VERIFIED', signature: { keyFingerprint: key.subkeys[0]!.getFingerprint().toUpperCase() } });
    expect(gnupgAccepts(cert, signedNow)).toBe(true);
    expect(sqvAccepts(cert, signedNow)).toBe(true);
  });

  it('stops a subkey whose embedded back-signature is not of type 0x19 (a subkey signature of another type over the same two keys)', async () => {
    for (const backType of [openpgp.enums.signature.subkeyBinding, openpgp.enums.signature.subkeyRevocation]) {
      const cert = await rebind({ backType });
      const r = await ours(cert, signedNow);
      expect(r, `back-signature type 0x${backType.toString(16)}`).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_NOT_SIGNING_KEY' });
      const [pinned] = await loadTrustedCertificates([cert], now);
      expect(pinned!.description.subkeys[0]!.state).toBe('no-back-signature');
      expect(gnupgAccepts(cert, signedNow)).toBe(false);
      expect(sqvAccepts(cert, signedNow)).toBe(false);
    }
  });

  it('stops a subkey whose only binding signature has passed its own expiration time', async () => {
    // Bound for one day, ten days ago: the binding expired nine days ago.
    const cert = await rebind({ bindingLifetimeSeconds: 86_400 });
    for (const signature of [signedNow, signedWhileBound]) {
      const r = await ours(cert, signature);
      expect(r, signature).toMatchObject({ status: 'REJECTED', code: 'SIGNATURE_NOT_SIGNING_KEY' });
      // GnuPG judges the binding at the time of verification, as we do.
      expect(gnupgAccepts(cert, signature)).toBe(false);
    }
    // Sequoia judges the binding at the signature's time instead: it refuses the signature made after the binding
    // expired and accepts the one made while it was in force. We keep GnuPG's stricter reading.
    expect(sqvAccepts(cert, signedNow)).toBe(false);
    expect(sqvAccepts(cert, signedWhileBound)).toBe(true);
    const [pinned] = await loadTrustedCertificates([cert], now);
    expect(pinned!.description.subkeys[0]!.state).toBe('invalid-binding');
  });
});
