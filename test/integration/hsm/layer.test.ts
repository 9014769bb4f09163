/**
 * The PKCS#11 layer in-process on real SoftHSM: known-answer signatures with Flatcar's developer key,
 * openssl interop, validity windows, and the three-wrong-PINs rule.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../../helpers/softhsm.js';
import { VECTORS } from '../../helpers/cli.js';
import { closeModule, openModule } from '../../../ceremony/hsm/module.js';
import { PinAttempts, TokenSession } from '../../../ceremony/hsm/token.js';
import { findPrivateKey, generateRsaKeyPair, publicKeyOf, publicKeyPem } from '../../../ceremony/hsm/keys.js';
import { TokenKeySigner } from '../../../ceremony/hsm/token-signer.js';
import { envPinSource, type PinSource } from '../../../ceremony/hsm/pin.js';
import { parsePkcs11Uri } from '../../../ceremony/hsm/uri.js';
import { isCeremonyError } from '../../../ceremony/errors.js';

const PIN = '13579';
let hsm: SoftHsm;
let work: string;
let restore: () => void;

beforeEach(() => {
  hsm = makeSoftHsm();
  hsm.initToken('signing', PIN);
  restore = hsm.activate();
  work = mkdtempSync(join(tmpdir(), 'ceremony-layer-'));
});
afterEach(() => {
  closeModule();
  restore();
  hsm.cleanup();
  rmSync(work, { recursive: true, force: true });
});

async function session(): Promise<TokenSession> {
  const ts = TokenSession.open(openModule(SOFTHSM_MODULE), parsePkcs11Uri('pkcs11:token=signing'));
  await ts.login(envPinSource({ CEREMONY_PIN: PIN }), new PinAttempts());
  return ts;
}

/** Import a PEM private key (and its public half) into the token with pkcs11-tool, as an operator would. */
function importKey(pemPath: string, label: string, id: string): void {
  const key = createPrivateKey(readFileSync(pemPath));
  const privDer = join(work, `${label}.key.der`);
  const pubDer = join(work, `${label}.pub.der`);
  writeFileSync(privDer, key.export({ type: 'pkcs1', format: 'der' }));
  writeFileSync(pubDer, execFileSync('openssl', ['rsa', '-in', pemPath, '-pubout', '-outform', 'DER'], { stdio: ['ignore', 'pipe', 'ignore'] }));
  hsm.pkcs11Tool(['--token-label', 'signing', '--login', '--pin', PIN, '--write-object', privDer, '--type', 'privkey', '--id', id, '--label', label]);
  hsm.pkcs11Tool(['--token-label', 'signing', '--login', '--pin', PIN, '--write-object', pubDer, '--type', 'pubkey', '--id', id, '--label', label]);
}

describe('known answers', () => {
  it("reproduces mantle's developer-v1 signature of SHA-256('') byte for byte", async () => {
    importKey(join(VECTORS, 'flatcar-keys/developer-v1.key.pem'), 'developer-v1', '01');
    const ts = await session();
    const warnings: string[] = [];
    const signer = new TokenKeySigner(ts, findPrivateKey(ts, parsePkcs11Uri('pkcs11:object=developer-v1')), () => new Date(), (m) => warnings.push(m));
    const digest = readFileSync(join(VECTORS, 'kat/mantle-devkey/empty.sha256.bin'));
    expect(digest).toEqual(createHash('sha256').update('').digest());
    const sig = await signer.signDigest('sha256', digest);
    expect(sig.equals(readFileSync(join(VECTORS, 'kat/mantle-devkey/empty.sha256.sig.bin')))).toBe(true);
    // an imported key has no validity dates: accepted, with a warning, given once however many signatures follow
    await signer.signDigest('sha256', digest);
    expect(warnings.filter((w) => /no validity dates/.test(w))).toHaveLength(1);
    ts.close();
  });

  it("reproduces update_engine's unittest signature byte for byte", async () => {
    importKey(join(VECTORS, 'kat/update-engine-unittest/unittest_key.pem'), 'unittest', '02');
    const ts = await session();
    const signer = new TokenKeySigner(ts, findPrivateKey(ts, parsePkcs11Uri('pkcs11:object=unittest')));
    const data = readFileSync(join(VECTORS, 'kat/update-engine-unittest/data.txt'));
    const sig = await signer.signDigest('sha256', createHash('sha256').update(data).digest());
    expect(sig.equals(readFileSync(join(VECTORS, 'kat/update-engine-unittest/data.sha256.sig.bin')))).toBe(true);
    ts.close();
  });
});

describe('interop', () => {
  it('a signature made through the layer verifies with openssl pkeyutl against the exported PEM', async () => {
    const ts = await session();
    const key = generateRsaKeyPair(ts, { label: 'k', bits: 2048, role: 'payload', validDays: 10 });
    const pem = join(work, 'k.pem');
    writeFileSync(pem, publicKeyPem(publicKeyOf(ts, key.handle)));
    const data = Buffer.from('release 1.2.3\n');
    const hash = createHash('sha256').update(data).digest();
    const sig = await new TokenKeySigner(ts, findPrivateKey(ts, parsePkcs11Uri('pkcs11:object=k'))).signDigest('sha256', hash);
    writeFileSync(join(work, 'h'), hash);
    writeFileSync(join(work, 's'), sig);
    const out = execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', pem, '-pkeyopt', 'digest:sha256', '-in', join(work, 'h'), '-sigfile', join(work, 's')]).toString();
    expect(out).toMatch(/Signature Verified Successfully/);
    // and a flipped bit does not
    sig[10]! ^= 1;
    writeFileSync(join(work, 's'), sig);
    expect(() => execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', pem, '-pkeyopt', 'digest:sha256', '-in', join(work, 'h'), '-sigfile', join(work, 's')], { stdio: 'pipe' })).toThrow();
    ts.close();
  });

  it('4096-bit keys sign too (512-byte signatures)', async () => {
    const ts = await session();
    generateRsaKeyPair(ts, { label: 'big', bits: 4096, role: 'payload' });
    const signer = new TokenKeySigner(ts, findPrivateKey(ts, parsePkcs11Uri('pkcs11:object=big')));
    expect(signer.modulusBits).toBe(4096);
    expect((await signer.signDigest('sha512', createHash('sha512').digest())).length).toBe(512);
    ts.close();
  });
});

describe('validity windows', () => {
  const day = 86_400_000;
  it('refuses a key whose CKA_END_DATE has passed (KEY_EXPIRED, exit 1)', async () => {
    const ts = await session();
    generateRsaKeyPair(ts, { label: 'old', bits: 2048, role: 'payload', validDays: 30, now: new Date(Date.now() - 400 * day) });
    const signer = new TokenKeySigner(ts, findPrivateKey(ts, parsePkcs11Uri('pkcs11:object=old')));
    const err = await signer.signDigest('sha256', Buffer.alloc(32)).catch((e: unknown) => e);
    expect(isCeremonyError(err, 'KEY_EXPIRED')).toBe(true);
    expect((err as { exitCode: number }).exitCode).toBe(1);
    ts.close();
  });

  it('refuses a key before its CKA_START_DATE (KEY_NOT_YET_VALID)', async () => {
    const ts = await session();
    generateRsaKeyPair(ts, { label: 'future', bits: 2048, role: 'payload', validDays: 30, now: new Date(Date.now() + 10 * day) });
    const signer = new TokenKeySigner(ts, findPrivateKey(ts, parsePkcs11Uri('pkcs11:object=future')));
    const err = await signer.signDigest('sha256', Buffer.alloc(32)).catch((e: unknown) => e);
    expect(isCeremonyError(err, 'KEY_NOT_YET_VALID')).toBe(true);
    ts.close();
  });

  it('checks validity at signing time, not only at lookup (a ceremony that runs past midnight)', async () => {
    const ts = await session();
    const key = generateRsaKeyPair(ts, { label: 'edge', bits: 2048, role: 'payload', validDays: 1 });
    let now = new Date();
    const signer = new TokenKeySigner(ts, findPrivateKey(ts, parsePkcs11Uri('pkcs11:object=edge')), () => now);
    await signer.signDigest('sha256', Buffer.alloc(32));
    now = new Date(key.endDate!.getTime() + day);
    expect(isCeremonyError(await signer.signDigest('sha256', Buffer.alloc(32)).catch((e: unknown) => e), 'KEY_EXPIRED')).toBe(true);
    ts.close();
  });
});

describe('PIN policy', () => {
  function typed(pins: string[]): PinSource & { asked: number } {
    const s = { kind: 'prompt' as const, interactive: true, asked: 0, async read() { return Buffer.from(pins[s.asked++] ?? ''); } };
    return s;
  }

  it('lets a person retry a mistyped PIN and counts the misses', async () => {
    const ts = TokenSession.open(openModule(SOFTHSM_MODULE), parsePkcs11Uri('pkcs11:token=signing'));
    const attempts = new PinAttempts();
    const warnings: string[] = [];
    const outcomes: boolean[] = [];
    await ts.login(typed(['1111', PIN]), attempts, { warn: (m) => warnings.push(m), attempt: (ok) => outcomes.push(ok) });
    expect(attempts.wrong).toBe(1);
    expect(outcomes).toEqual([false, true]);
    // SoftHSM raises CKF_USER_PIN_COUNT_LOW after a wrong PIN: the warning before the retry comes from the token
    expect(warnings).toEqual([
      "wrong PIN for token 'signing' (2 tries left before the ceremony stops)",
      "token 'signing' says wrong PINs have been entered recently (count low)",
    ]);
    ts.close();
  });

  it('stops the ceremony after three wrong PINs, even though SoftHSM never locks', async () => {
    const ts = TokenSession.open(openModule(SOFTHSM_MODULE), parsePkcs11Uri('pkcs11:token=signing'));
    const source = typed(['1', '2', '3', PIN]);
    const err = await ts.login(source, new PinAttempts()).catch((e: unknown) => e);
    expect(isCeremonyError(err, 'PIN_ATTEMPTS_EXHAUSTED')).toBe(true);
    expect(source.asked).toBe(3);
    ts.close();
  });

  it('counts wrong PINs across the logins of one ceremony', async () => {
    const mod = openModule(SOFTHSM_MODULE);
    const attempts = new PinAttempts();
    const a = TokenSession.open(mod, parsePkcs11Uri('pkcs11:token=signing'));
    await a.login(typed(['x', 'y', PIN]), attempts);
    a.close();
    const b = TokenSession.open(mod, parsePkcs11Uri('pkcs11:token=signing'));
    const err = await b.login(typed(['z', PIN]), attempts).catch((e: unknown) => e);
    expect(isCeremonyError(err, 'PIN_ATTEMPTS_EXHAUSTED')).toBe(true);
    b.close();
  });
});
