/**
 * Key state no one can forge without a PIN (issue 10), on real SoftHSM tokens. Each attack is made as a
 * local process without any PIN would make it (test/helpers/pkcs11-attacker.mjs, a process of its own, so
 * it cannot borrow the ceremony's login), and the next ceremony step must refuse with TOKEN_TAMPERED and a
 * sentence that says the token was tampered with. Also: the attribute dump of every key the tool made.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeSoftHsm, SOFTHSM_MODULE, TEST_SO_PIN, type SoftHsm } from '../../helpers/softhsm.js';
import { writeQuorumConfig } from '../../helpers/quorum-config.js';
import { closeModule, openModule } from '../../../ceremony/hsm/module.js';
import { PinAttempts, TokenSession } from '../../../ceremony/hsm/token.js';
import { envPinSource } from '../../../ceremony/hsm/pin.js';
import { assertKeyUsable, findPrivateKey, generateRsaKeyPair, readDataObject } from '../../../ceremony/hsm/keys.js';
import { pkcs11 } from '../../../ceremony/hsm/native.js';
import { loadConfig } from '../../../ceremony/config.js';
import { runInit } from '../../../ceremony/ceremonies/init.js';
import { runRenew } from '../../../ceremony/ceremonies/renew.js';
import { QUORUM_APPLICATION, QUORUM_SET_LABEL } from '../../../ceremony/ceremonies/quorum-state.js';
import { findOpenpgpKeys, OPENPGP_APPLICATION } from '../../../ceremony/openpgp/hsm-store.js';
import type { CeremonyReporter } from '../../../ceremony/ceremonies/runner.js';
import { CeremonyError, isCeremonyError } from '../../../ceremony/errors.js';

const PIN = 'maintainer-pin-3';
const ATTACKER = join(__dirname, '../../helpers/pkcs11-attacker.mjs');
let hsm: SoftHsm;
let work: string;
let restore: () => void;
const quiet: CeremonyReporter = { step() {}, warn() {} };

function attack(token: string, ...args: string[]): { ok: boolean; error?: string } {
  const out = execFileSync('node', [ATTACKER, SOFTHSM_MODULE, token, ...args], { env: hsm.env, encoding: 'utf8' });
  return JSON.parse(out.trim()) as { ok: boolean; error?: string };
}

function common(out: string) {
  return {
    config: loadConfig(join(work, 'config.json')),
    outDir: join(work, out),
    recordDir: join(work, 'records'),
    allowNetwork: true,
    attended: false,
    env: { CEREMONY_PIN: PIN, CEREMONY_SO_PIN: TEST_SO_PIN },
    reporter: quiet,
    now: () => new Date(),
    recordedOptions: [],
  };
}

function shares() {
  return ['alice', 'bob', 'carol'].map((n) => ({ source: `${n}.share`, text: readFileSync(join(work, 'init/shares', `${n}.share`)) }));
}

/** A logged-in session on the signing token for the duration of `fn`; closed (and so logged out) after. */
async function withSigning<T>(fn: (ts: TokenSession) => T | Promise<T>): Promise<T> {
  const ts = TokenSession.open(openModule(SOFTHSM_MODULE), { token: 'signing', extraPath: [], extraQuery: [] });
  try {
    await ts.login(envPinSource({ CEREMONY_PIN: PIN }), new PinAttempts());
    return await fn(ts);
  } finally {
    ts.close();
  }
}

async function makePayloadKey(label: string): Promise<void> {
  await withSigning((ts) => generateRsaKeyPair(ts, { label, bits: 2048, role: 'payload', validDays: 30, now: new Date(Date.now() - 60 * 86_400_000) }));
}

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<CeremonyError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (isCeremonyError(e)) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

function expectTampered(e: CeremonyError): void {
  expect(e.code).toBe('TOKEN_TAMPERED');
  expect(e.exitCode).toBe(1);
  expect(e.message).toMatch(/was tampered with/);
  expect(e.message).not.toMatch(/another split|foreign/);
}

beforeAll(async () => {
  hsm = makeSoftHsm('ceremony-tamper-');
  hsm.initToken('signing', PIN);
  restore = hsm.activate();
  work = join(hsm.dir, 'work');
  mkdirSync(work);
  writeQuorumConfig(work, { name: 'Tamper Test Key', email: 'tamper@example.org', threshold: 3, custodians: ['alice', 'bob', 'carol', 'dave', 'erin'] });
  await runInit(common('init'));
}, 120_000);

afterAll(() => {
  closeModule();
  restore?.();
  hsm?.cleanup();
});

describe('every key the tool made is locked', () => {
  /** Raw attributes through pkcs11js, not through the tool's own describeKey. */
  function dump(ts: TokenSession, h: Buffer, types: number[]): Record<number, string> {
    const out: Record<number, string> = {};
    for (const type of types) {
      try {
        out[type] = ts.lib.C_GetAttributeValue(ts.handle, h, [{ type }])[0]!.value!.toString('hex');
      } catch {
        out[type] = 'absent';
      }
    }
    return out;
  }

  it('attribute dump: both halves not modifiable or copyable, the private half sign-only, RSA-PKCS only, backup-able only under a trusted key', async () => {
    await renewOnce();
    const root = await rootAfterRenew();
    for (const [ts, classOf] of [[await signingLoggedIn(), 'signing'], [root, 'root']] as const) {
      ts.lib.C_FindObjectsInit(ts.handle, [{ type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY }]);
      const privs = ts.lib.C_FindObjects(ts.handle, 64);
      ts.lib.C_FindObjectsFinal(ts.handle);
      expect(privs.length, classOf).toBeGreaterThan(0);
      for (const h of privs) {
        const label = ts.lib.C_GetAttributeValue(ts.handle, h, [{ type: pkcs11.CKA_LABEL }])[0]!.value!.toString();
        if (label === 'legacy-key') continue;
        const a = dump(ts, h, [pkcs11.CKA_MODIFIABLE, pkcs11.CKA_COPYABLE, pkcs11.CKA_SENSITIVE, pkcs11.CKA_SIGN, pkcs11.CKA_SIGN_RECOVER, pkcs11.CKA_DECRYPT, pkcs11.CKA_UNWRAP, pkcs11.CKA_DERIVE, pkcs11.CKA_ALLOWED_MECHANISMS, pkcs11.CKA_EXTRACTABLE, pkcs11.CKA_WRAP_WITH_TRUSTED]);
        expect({ label, ...a }).toEqual({
          label,
          [pkcs11.CKA_MODIFIABLE]: '00', [pkcs11.CKA_COPYABLE]: '00', [pkcs11.CKA_SENSITIVE]: '01', [pkcs11.CKA_SIGN]: '01', [pkcs11.CKA_SIGN_RECOVER]: '00',
          [pkcs11.CKA_DECRYPT]: '00', [pkcs11.CKA_UNWRAP]: '00', [pkcs11.CKA_DERIVE]: '00', [pkcs11.CKA_ALLOWED_MECHANISMS]: '0100000000000000',
          // root, signing subkeys and payload keys must survive their token (issue 11)
          [pkcs11.CKA_EXTRACTABLE]: '01', [pkcs11.CKA_WRAP_WITH_TRUSTED]: '01',
        });
      }
      ts.lib.C_FindObjectsInit(ts.handle, [{ type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY }]);
      for (const h of ts.lib.C_FindObjects(ts.handle, 64)) {
        const label = ts.lib.C_GetAttributeValue(ts.handle, h, [{ type: pkcs11.CKA_LABEL }])[0]!.value!.toString();
        if (label === 'legacy-key' || label.startsWith('payload-lookalike')) continue;
        expect({ label, ...dump(ts, h, [pkcs11.CKA_MODIFIABLE, pkcs11.CKA_COPYABLE]) }).toEqual({ label, [pkcs11.CKA_MODIFIABLE]: '00', [pkcs11.CKA_COPYABLE]: '00' });
      }
      ts.lib.C_FindObjectsFinal(ts.handle);
      ts.lib.C_FindObjectsInit(ts.handle, [{ type: pkcs11.CKA_CLASS, value: pkcs11.CKO_DATA }]);
      for (const h of ts.lib.C_FindObjects(ts.handle, 64)) expect(dump(ts, h, [pkcs11.CKA_MODIFIABLE])[pkcs11.CKA_MODIFIABLE]).toBe('00');
      ts.lib.C_FindObjectsFinal(ts.handle);
      ts.close();
    }
    // pkcs11-tool, an independent client, shows the same on the signing token
    const listing = hsm.pkcs11Tool(['--token-label', 'signing', '--login', '--pin', PIN, '--list-objects']);
    const privs = listing.split(/\n(?=\S)/).filter((b) => b.startsWith('Private Key Object') && !b.includes('legacy-key'));
    expect(privs.length).toBeGreaterThanOrEqual(2);
    for (const b of privs) {
      expect(b).toMatch(/Usage:\s+sign\s*$/m);
      expect(b).toMatch(/Access:\s+sensitive, always sensitive, extractable, local/);
      expect(b).toMatch(/Allowed mechanisms:\s+RSA-PKCS\s*$/m);
    }
  }, 120_000);
});

describe('a session without a PIN cannot extend a key\'s validity', () => {
  it('editing the public half\'s end date in place is refused by the token (the key is not modifiable)', async () => {
    await makePayloadKey('payload-edit');
    const r = attack('signing', 'edit-dates', 'payload-edit', '20991231');
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/CKR_(ACTION_PROHIBITED|ATTRIBUTE_READ_ONLY|VENDOR_DEFINED:27)/);
    // and the key is still the expired key it was
    const e = await refusal(withSigning((ts) => assertKeyUsable(findPrivateKey(ts, { object: 'payload-edit', extraPath: [], extraQuery: [] }), new Date())));
    expect(e.code).toBe('KEY_EXPIRED');
  });

  it('deleting the public half and creating a look-alike with a later end date is refused as tampering', async () => {
    await makePayloadKey('payload-lookalike-date');
    expect(attack('signing', 'replace-public', 'payload-lookalike-date', 'end-date', '20991231').ok).toBe(true);
    expectTampered(await refusal(withSigning((ts) => findPrivateKey(ts, { object: 'payload-lookalike-date', extraPath: [], extraQuery: [] }))));
  });

  it('deleting the public half and creating a look-alike with another CKA_ID is refused as tampering', async () => {
    await makePayloadKey('payload-lookalike-id');
    expect(attack('signing', 'replace-public', 'payload-lookalike-id', 'id', '0011223344556677').ok).toBe(true);
    expectTampered(await refusal(withSigning((ts) => findPrivateKey(ts, { object: 'payload-lookalike-id', extraPath: [], extraQuery: [] }))));
  });
});

describe('a session without a PIN cannot change which quorum set is in force', () => {
  const original = () => {
    const ts = TokenSession.open(openModule(SOFTHSM_MODULE), { token: 'root', extraPath: [], extraQuery: [] }, false);
    try {
      return readDataObject(ts, { label: QUORUM_SET_LABEL, application: QUORUM_APPLICATION })!;
    } finally {
      ts.close();
    }
  };

  it.each([
    ['replacing the quorum descriptor with another set (unsigned, as it was stored before sets were signed)', (d: Record<string, unknown>) => JSON.stringify({ ...d, setId: '0123456789abcdef' })],
    ['replacing the quorum descriptor with another set under a forged root signature', (d: Record<string, unknown>) =>
      JSON.stringify({ format: 'ceremony-quorum-set/signed-1', descriptor: JSON.stringify({ ...d, setId: '0123456789abcdef' }), signature: Buffer.alloc(512, 7).toString('base64') })],
  ])('%s is refused as tampering before any share is judged', async (_name, forge) => {
    const saved = original();
    const envelope = JSON.parse(saved.toString('utf8')) as { descriptor: string };
    const forged = join(work, 'forged-set.json');
    writeFileSync(forged, forge(JSON.parse(envelope.descriptor) as Record<string, unknown>));
    expect(attack('root', 'replace-data', QUORUM_SET_LABEL, QUORUM_APPLICATION, forged).ok).toBe(true);
    try {
      expectTampered(await refusal(runRenew({ ...common('renew-forged-set'), shares: shares() })));
    } finally {
      writeFileSync(forged, saved);
      expect(attack('root', 'replace-data', QUORUM_SET_LABEL, QUORUM_APPLICATION, forged).ok).toBe(true);
    }
  }, 60_000);
});

describe('a session without a PIN cannot replace a stored certificate', () => {
  it('replacing the signing subkey\'s stored certificate is refused as tampering at the next key selection', async () => {
    const label = await withSigning(async (ts) => (await findOpenpgpKeys(ts)).find((k) => k.openpgp.role === 'subkey')!.key.label);
    // An older genuine certificate would do as well; any other bytes that still hold the key are the attack.
    const current = await withSigning((ts) => readDataObject(ts, { label, application: OPENPGP_APPLICATION })!);
    const swapped = join(work, 'swapped-cert.bin');
    writeFileSync(swapped, Buffer.concat([current, Buffer.from([0xb4, 0x03, 0x65, 0x76, 0x65])])); // + a user ID packet "eve"
    expect(attack('signing', 'replace-data', label, OPENPGP_APPLICATION, swapped).ok).toBe(true);
    try {
      expectTampered(await refusal(withSigning((ts) => findOpenpgpKeys(ts))));
    } finally {
      writeFileSync(swapped, current);
      attack('signing', 'replace-data', label, OPENPGP_APPLICATION, swapped);
    }
    expect((await withSigning((ts) => findOpenpgpKeys(ts))).some((k) => k.key.label === label)).toBe(true);
  });
});

describe('keys made before key state records', () => {
  it('keep signing from their public dates, with a warning that says how to migrate', async () => {
    await withSigning((ts) => {
      // The template this tool used before issue 10: modifiable halves, no state record.
      ts.lib.C_GenerateKeyPair(ts.handle, { mechanism: pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN }, [
        { type: pkcs11.CKA_TOKEN, value: true }, { type: pkcs11.CKA_LABEL, value: 'legacy-key' }, { type: pkcs11.CKA_ID, value: Buffer.from('0102030405060708', 'hex') },
        { type: pkcs11.CKA_VERIFY, value: true }, { type: pkcs11.CKA_MODULUS_BITS, value: 2048 }, { type: pkcs11.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      ], [
        { type: pkcs11.CKA_TOKEN, value: true }, { type: pkcs11.CKA_LABEL, value: 'legacy-key' }, { type: pkcs11.CKA_ID, value: Buffer.from('0102030405060708', 'hex') },
        { type: pkcs11.CKA_PRIVATE, value: true }, { type: pkcs11.CKA_SENSITIVE, value: true }, { type: pkcs11.CKA_EXTRACTABLE, value: false }, { type: pkcs11.CKA_SIGN, value: true },
      ]);
    });
    const warnings: string[] = [];
    const key = await withSigning((ts) => findPrivateKey(ts, { object: 'legacy-key', extraPath: [], extraQuery: [] }));
    expect(key.state).toBe('legacy');
    assertKeyUsable(key, new Date(), (m) => warnings.push(m));
    expect(warnings.join('\n')).toMatch(/made before key state records.*migrate/);
  });
});

async function renewOnce(): Promise<void> {
  await runRenew({ ...common('renewed'), shares: shares(), newPayloadKey: 'payload-next' });
}

async function signingLoggedIn(): Promise<TokenSession> {
  const ts = TokenSession.open(openModule(SOFTHSM_MODULE), { token: 'signing', extraPath: [], extraQuery: [] });
  await ts.login(envPinSource({ CEREMONY_PIN: PIN }), new PinAttempts());
  return ts;
}

/** The root token after the renewal, logged in with the new set's user PIN (recombined as k custodians would). */
async function rootAfterRenew(): Promise<TokenSession> {
  const { combineShareData, deriveQuorumPins, parseShare } = await import('../../../ceremony/quorum/index.js');
  const s = ['alice', 'bob', 'carol'].map((n) => parseShare(readFileSync(join(work, 'renewed/shares', `${n}.share`)), n));
  const softhsm = { alphabet: 'base64url', length: 64 } as const;
  const pins = deriveQuorumPins(await combineShareData(s), s[0]!.setId, { rootUser: softhsm, rootSo: softhsm, signingSo: softhsm });
  const ts = TokenSession.open(openModule(SOFTHSM_MODULE), { token: 'root', extraPath: [], extraQuery: [] });
  await ts.login(envPinSource({ CEREMONY_PIN: pins.userPin.toString() }), new PinAttempts());
  return ts;
}
