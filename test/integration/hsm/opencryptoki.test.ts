/**
 * The second PKCS#11 implementation (issue 10): openCryptoki's software token, its pkcsslotd daemon
 * started and stopped here in a namespace of its own (test/helpers/opencryptoki.ts). Everything runs
 * through child processes (the `ceremony` CLI, the attacker), as a user would.
 *
 * What openCryptoki 3.8 lacks, and the tests below pin down as handled:
 *  - PINs of 4 to 8 characters: a derived PIN has at most 48 bits, refused unless --accept-weak-pins;
 *  - no CKA_ALLOWED_MECHANISMS, CKA_COPYABLE or CKA_WRAP_WITH_TRUSTED (PKCS#11 v2.40): keys are locked
 *    (not modifiable, sign-only) but not mechanism-restricted, and backup-able roles are made never
 *    extractable (hsm keys says so);
 *  - no CKM_AES_KEY_WRAP(_PAD): no backup there (issue 11 says how it refuses);
 *  - fresh tokens ship with SO PIN 87654321: init takes it (CEREMONY_ROOT_SO_PIN) and replaces it.
 * Opt out only explicitly, on a machine that cannot run it: CEREMONY_SKIP_OPENCRYPTOKI=1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { opencryptokiUnavailable, startOpenCryptoki, OPENCRYPTOKI_MODULE, type OpenCryptoki } from '../../helpers/opencryptoki.js';

const PIN = 'mnt4pin8';
const SO_PIN = 'oper8so!';
const ATTACKER = join(__dirname, '../../helpers/pkcs11-attacker.mjs');
const skip = process.env.CEREMONY_SKIP_OPENCRYPTOKI === '1';
let ock: OpenCryptoki;

/** The attacker (test/helpers/pkcs11-attacker.mjs): a process of its own that never logs in. */
function attack(token: string, ...args: string[]): { ok: boolean; error?: string } {
  const r = ock.run(process.execPath, [ATTACKER, OPENCRYPTOKI_MODULE, token, ...args]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { ok: boolean; error?: string };
}

function cleanError(r: { code: number; stderr: string }, code: string, exit: number): void {
  expect(r.code, r.stderr).toBe(exit);
  expect(r.stderr).toMatch(new RegExp(`^error\\[${code}\\]: `, 'm'));
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

describe.skipIf(skip)('openCryptoki (PKCS11_SW) as a second PKCS#11 implementation', () => {
  beforeAll(async () => {
    const why = opencryptokiUnavailable();
    if (why) throw new Error(`${why} (set CEREMONY_SKIP_OPENCRYPTOKI=1 to skip these tests on purpose)`);
    ock = await startOpenCryptoki(5);
  }, 60_000);

  afterAll(() => ock?.stop());

  it('ceremony demo --module runs the whole year on openCryptoki: every record intact, GnuPG accepts the signatures', () => {
    const dir = join(ock.dir, 'demo');
    const r = ock.ceremony(['--json', 'demo', '--dir', dir, '--module', OPENCRYPTOKI_MODULE]);
    expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
    const result = r.json<{ ok: boolean; records: { dir: string; verdict: string }[]; steps: { name: string; detail: string }[] }>();
    expect(result.records.map((x) => x.dir.match(/-(init|renew|sign|payload-sign)-/)![1]).sort()).toEqual(['init', 'payload-sign', 'renew', 'sign']);
    expect(result.records.every((x) => x.verdict === 'intact')).toBe(true);
    expect(result.steps.filter((s) => s.name === 'gnupg' && /good signature/.test(s.detail))).toHaveLength(2);
    // the differences are said, not hidden: short PINs accepted on record, keys that cannot be backed up
    const said = result.steps.map((s) => s.detail).join('\n');
    expect(said).toMatch(/at most 8 characters \(48 bits derived\).*--accept-weak-pins/);
    expect(said).toMatch(/does not accept CKA_WRAP_WITH_TRUSTED.*never extractable/);
    expect(readdirSync(join(dir, 'signed')).sort()).toEqual(['flatcar_production_image.bin.sig', 'flatcar_production_update.signed', 'version.txt.sig']);
  }, 600_000);

  describe('on tokens of its own', () => {
    beforeAll(() => {
      ock.initToken('maint', PIN, SO_PIN); // the demo's tokens are 'signing' and 'root'; 'lookalike' is the fifth slot
    });

    it('a derived PIN under 64 bits is refused before anything is made, unless --accept-weak-pins', () => {
      const work = join(ock.dir, 'weak');
      mkdirSync(work);
      writeFileSync(join(work, 'config.json'), JSON.stringify({
        hsm: { rootToken: 'root2', signingToken: 'maint' },
        identity: { name: 'OCK Test', email: 'ock@example.org' },
        quorum: { threshold: 2, custodians: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] },
      }));
      const r = ock.ceremony(['init', '--config', 'config.json', '--out', 'out', '--record-dir', 'records', '--allow-network'], { cwd: work, env: { CEREMONY_PIN: PIN, CEREMONY_SO_PIN: SO_PIN, CEREMONY_ROOT_SO_PIN: '87654321' } });
      cleanError(r, 'PIN_TOO_WEAK', 3);
      expect(r.stderr).toMatch(/48 bits.*--accept-weak-pins/);
      expect(readdirSync(work)).toEqual(['config.json']);
    });

    it('keys are locked (not modifiable, sign-only), and hsm keys says what this module cannot enforce', () => {
      const env = { CEREMONY_PIN: PIN };
      const gen = ock.ceremony(['key', 'generate', '--token', 'pkcs11:token=maint', '--label', 'payload-ock', '--bits', '2048', '--valid-days', '30'], { env });
      expect(gen.code, gen.stderr).toBe(0);
      expect(gen.stderr).toMatch(/does not accept CKA_ALLOWED_MECHANISMS/);
      expect(gen.stderr).toMatch(/does not accept CKA_WRAP_WITH_TRUSTED: key 'payload-ock' is made never extractable/);
      const keys = ock.ceremony(['--json', 'hsm', 'keys', '--token', 'pkcs11:token=maint'], { env });
      expect(keys.code, keys.stderr).toBe(0);
      const listed = keys.json<{ listing: { label: string; role: string; state: string; missing: string[]; mechanismRestrictionUnsupported: boolean; extractable: boolean }[] }>().listing;
      const k = listed.find((x) => x.label === 'payload-ock')!;
      expect(k).toMatchObject({ role: 'payload', state: 'authenticated', missing: [], mechanismRestrictionUnsupported: true, extractable: false });
      expect(keys.stderr).toMatch(/does not support CKA_ALLOWED_MECHANISMS/);
      // pkcs11-tool, an independent client, sees the private half sign-only and never extractable
      const list = ock.run('pkcs11-tool', ['--module', OPENCRYPTOKI_MODULE, '--token-label', 'maint', '--login', '--pin', PIN, '--list-objects']);
      const priv = list.stdout.split(/\n(?=\S)/).find((b) => b.startsWith('Private Key Object') && b.includes('payload-ock'))!;
      expect(priv).toMatch(/Usage:\s+sign\s*$/m);
      expect(priv).toMatch(/never extractable/);
    });

    it('editing a key\'s end date without a PIN is refused by the token; a look-alike public half is refused as tampering', () => {
      const env = { CEREMONY_PIN: PIN };
      expect(ock.ceremony(['key', 'generate', '--token', 'pkcs11:token=maint', '--label', 'payload-victim', '--bits', '2048', '--valid-days', '1'], { env }).code).toBe(0);
      const edit = JSON.parse(ock.run(process.execPath, [ATTACKER, OPENCRYPTOKI_MODULE, 'maint', 'edit-dates', 'payload-victim', '20991231']).stdout) as { ok: boolean; error?: string };
      expect(edit.ok).toBe(false);
      expect(edit.error).toMatch(/CKR_(ATTRIBUTE_READ_ONLY|ACTION_PROHIBITED)/);
      const replaced = JSON.parse(ock.run(process.execPath, [ATTACKER, OPENCRYPTOKI_MODULE, 'maint', 'replace-public', 'payload-victim', 'end-date', '20991231']).stdout) as { ok: boolean };
      expect(replaced.ok).toBe(true);
      const keys = ock.ceremony(['hsm', 'keys', '--token', 'pkcs11:token=maint'], { env });
      cleanError(keys, 'TOKEN_TAMPERED', 1);
      expect(keys.stderr).toMatch(/was tampered with: the validity dates of key 'payload-victim'/);
    });

    it('deleting the public half and creating a look-alike with another CKA_ID is refused as tampering', () => {
      // A token of its own: hsm keys names only the first tampered key, and 'maint' already holds one.
      ock.initToken('lookalike', PIN, SO_PIN);
      const env = { CEREMONY_PIN: PIN };
      expect(ock.ceremony(['key', 'generate', '--token', 'pkcs11:token=lookalike', '--label', 'payload-id-victim', '--bits', '2048', '--valid-days', '30'], { env }).code).toBe(0);
      expect(attack('lookalike', 'replace-public', 'payload-id-victim', 'id', '0011223344556677').ok).toBe(true);
      const keys = ock.ceremony(['hsm', 'keys', '--token', 'pkcs11:token=lookalike'], { env });
      cleanError(keys, 'TOKEN_TAMPERED', 1);
      expect(keys.stderr).toMatch(/was tampered with: a public key object labelled 'payload-id-victim' has another CKA_ID/);
    });
  });

  // The demo above leaves an initialized pair of tokens ('root', 'signing') after a renewal; the attacks
  // below are made on them without any PIN, and each one is put back so the next test starts clean.
  describe('on the demo\'s tokens, a session without a PIN', () => {
    const demo = () => join(ock.dir, 'demo');
    const maintainerPin = () => readFileSync(join(demo(), 'signing.pin'), 'utf8');

    beforeAll(() => {
      if (!existsSync(join(demo(), 'renew', 'shares'))) throw new Error('the demo test above did not leave its tokens (it must run first)');
    });

    it.each([
      ['replacing the quorum descriptor with another set (unsigned, as it was stored before sets were signed)', (d: Record<string, unknown>) => JSON.stringify({ ...d, setId: '0123456789abcdef' })],
      ['replacing the quorum descriptor with another set under a forged root signature', (d: Record<string, unknown>) =>
        JSON.stringify({ format: 'ceremony-quorum-set/signed-1', descriptor: JSON.stringify({ ...d, setId: '0123456789abcdef' }), signature: Buffer.alloc(512, 7).toString('base64') })],
    ])('%s cannot change which quorum set is in force: the next renewal refuses it as tampering', (name, forge) => {
      const saved = join(ock.dir, 'quorum-set.saved');
      expect(attack('root', 'read-data', 'quorum-set', 'ceremony-quorum', saved).ok).toBe(true);
      const envelope = JSON.parse(readFileSync(saved, 'utf8')) as { descriptor: string };
      const forged = join(ock.dir, 'quorum-set.forged');
      writeFileSync(forged, forge(JSON.parse(envelope.descriptor) as Record<string, unknown>));
      expect(attack('root', 'replace-data', 'quorum-set', 'ceremony-quorum', forged).ok).toBe(true);
      const out = join(ock.dir, `renew-forged-${name.length}`);
      try {
        const shares = readdirSync(join(demo(), 'renew', 'shares')).filter((f) => f.endsWith('.share')).slice(0, 3).map((f) => join(demo(), 'renew', 'shares', f));
        expect(shares).toHaveLength(3);
        const renew = ock.ceremony(
          ['renew', '--config', join(demo(), 'ceremony.json'), '--out', out, '--share', ...shares, '--record-dir', join(ock.dir, 'records-forged'), '--allow-network', '--accept-weak-pins'],
          { env: { CEREMONY_PIN: maintainerPin() } },
        );
        cleanError(renew, 'TOKEN_TAMPERED', 1);
        expect(renew.stderr).toMatch(/was tampered with: its quorum set descriptor is not signed by the root key/);
        expect(existsSync(out)).toBe(false);
      } finally {
        expect(attack('root', 'replace-data', 'quorum-set', 'ceremony-quorum', saved).ok).toBe(true);
      }
      // put back, the genuine set exports again under the root signature (no PIN needed)
      const exported = ock.ceremony(['hsm', 'quorum-set', '--token', 'pkcs11:token=root', '--out', join(out + '-restored.json')]);
      expect(exported.code, exported.stderr).toBe(0);
    }, 120_000);

    it('replacing the signing subkey\'s stored certificate is refused as tampering at the next key selection', () => {
      const env = { CEREMONY_PIN: maintainerPin() };
      const listKeys = () => ock.ceremony(['--json', 'hsm', 'keys', '--token', 'pkcs11:token=signing'], { env });
      const before = listKeys();
      expect(before.code, before.stderr).toBe(0);
      const label = before.json<{ listing: { label: string; role: string }[] }>().listing.find((k) => k.role === 'current signing subkey')!.label;
      const saved = join(ock.dir, 'subkey-cert.saved');
      expect(attack('signing', 'read-data', label, 'ceremony-openpgp', saved).ok).toBe(true);
      const swapped = join(ock.dir, 'subkey-cert.swapped');
      // Any other bytes that still hold the key are the attack: here the genuine certificate plus a user ID packet "eve".
      writeFileSync(swapped, Buffer.concat([readFileSync(saved), Buffer.from([0xb4, 0x03, 0x65, 0x76, 0x65])]));
      expect(attack('signing', 'replace-data', label, 'ceremony-openpgp', swapped).ok).toBe(true);
      try {
        const keys = ock.ceremony(['hsm', 'keys', '--token', 'pkcs11:token=signing'], { env });
        cleanError(keys, 'TOKEN_TAMPERED', 1);
        expect(keys.stderr).toMatch(new RegExp(`was tampered with: the OpenPGP certificate stored for key '${label}' is not the one the ceremony stored`));
      } finally {
        expect(attack('signing', 'replace-data', label, 'ceremony-openpgp', saved).ok).toBe(true);
      }
      expect(listKeys().code).toBe(0);
    });
  });
});
