/**
 * Refusals read as refusals (issue 13): a ceremony that correctly refused is sealed whenever a seal key
 * can be reached and reviews as "refused at step X" (exit 0 from `audit verify` with the seal pinned),
 * never as "incomplete" like a killed one; and what can be found before the ceremony (usage, a missing
 * PIN source, a missing key, an existing output) is refused before any record exists.
 * Real SoftHSM tokens, the real binary, real init/renew ceremonies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../../helpers/softhsm.js';
import { expectCleanError, runCeremony } from '../../helpers/cli.js';
import { makeGpgHome } from '../../helpers/gpg.js';
import { makeDemoBuildServer, type DemoBuildServer } from '../../../ceremony/release/demo-build-server.js';
import { reviewRecord, type Review } from '../../../ceremony/audit/review.js';
import { writeDemoPayload } from '../../../ceremony/payload/demo-payload.js';

const PIN = 'maintainer-pin-5150';
const KEY = 'pkcs11:token=signing;object=release-2026';
let hsm: SoftHsm;
let work: string;
let env: NodeJS.ProcessEnv;
let bs: DemoBuildServer;

const records = (dir: string) => (existsSync(join(work, dir)) ? readdirSync(join(work, dir)).sort().map((d) => join(work, dir, d)) : []);
const only = (dir: string) => {
  const all = records(dir);
  expect(all).toHaveLength(1);
  return all[0]!;
};
const pinned = (cert: string) => ({ trustedCertificates: [readFileSync(join(work, cert), 'utf8')] });

function expectRefused(r: Review, step: string, code: string): void {
  expect(r.verdict, r.summary).toBe('refused');
  expect(r.seal.present && r.seal.valid).toBe(true);
  expect(r.pinned).toBe(true);
  expect(r.refusal).toMatchObject({ step, code });
  expect(r.headline).toBe(`refused at step ${step}`);
  expect(r.summary).toMatch(new RegExp(`^refused at step ${step} \\(line \\d+\\): ${code}: `));
  expect(r.policy.find((p) => p.name === 'nothing-after-failure')?.outcome).toBe('pass');
}

/** `ceremony audit verify` passes a refused record (exit 0) and prints the verdict once. */
function expectAuditPasses(record: string, cert: string): void {
  const v = runCeremony(['audit', 'verify', '--trusted-key', cert, record], { cwd: work });
  expect(v.code, v.stderr + v.stdout).toBe(0);
  expect(v.stdout.split('\n')[0]).toMatch(/^refused at step [a-z-]+ \(line \d+\): /);
}

beforeAll(async () => {
  hsm = makeSoftHsm('ceremony-refusals-');
  hsm.initToken('signing', PIN);
  work = join(hsm.dir, 'work');
  mkdirSync(work);
  env = { ...hsm.env, CEREMONY_PIN: PIN };
  bs = await makeDemoBuildServer(join(work, 'bs'), { rsaBits: 2048 });
  const gen = runCeremony(['key', 'generate', '--token', 'pkcs11:token=signing', '--label', 'release-2026', '--bits', '2048', '--valid-days', '365', '--openpgp-uid', 'Example Release Signing <release@example.org>'], { env });
  expect(gen.code, gen.stderr).toBe(0);
  const exp = runCeremony(['key', 'export', '--key', KEY, '--format', 'openpgp', '--out', join(work, 'release.asc')], { env });
  expect(exp.code, exp.stderr).toBe(0);
}, 120_000);

afterAll(() => hsm?.cleanup());

describe('sign: refused, sealed, reviewed as refused', () => {
  it('a tampered input: refused at verify-input, sealed by the signing key (a login made only to seal), nothing signed', async () => {
    cpSync(join(work, 'bs'), join(work, 'bs-bad'), { recursive: true });
    const img = join(work, 'bs-bad', 'flatcar_production_image.bin');
    const bytes = readFileSync(img);
    bytes[5]! ^= 0x80;
    writeFileSync(img, bytes);
    const run = runCeremony(['sign', '--trusted-key', 'bs/build-server.asc', '--key', KEY, '--out-dir', 'out-tampered', '--record-dir', 'rec-tampered', '--allow-network', 'bs-bad/version.txt', 'bs-bad/flatcar_production_image.bin'], { env, cwd: work });
    expect(run.code).toBe(1);
    expect(existsSync(join(work, 'out-tampered')) ? readdirSync(join(work, 'out-tampered')) : []).toEqual([]);
    const record = only('rec-tampered');
    const r = await reviewRecord(record, pinned('release.asc'));
    expectRefused(r, 'verify-input', r.refusal?.code === 'SIGNATURE_INVALID' ? 'SIGNATURE_INVALID' : 'DIGEST_MISMATCH');
    expect(r.events.map((e) => e.event.step)).not.toContain('sign');
    expectAuditPasses(record, 'release.asc');
  });

  it('a wrong PIN: the key that would seal is the one whose PIN was refused, so the record ends refused but unsealed (incomplete, exit 1)', async () => {
    const run = runCeremony(['sign', '--trusted-key', 'bs/build-server.asc', '--key', KEY, '--out-dir', 'out-pin', '--record-dir', 'rec-pin', '--allow-network', ...bs.files], { env: { ...hsm.env, CEREMONY_PIN: 'not-the-pin' }, cwd: work });
    expectCleanError(run, 'PIN_INCORRECT', 3);
    const r = await reviewRecord(only('rec-pin'), pinned('release.asc'));
    expect(r.verdict).toBe('incomplete');
    expect(r.lastStep).toBe('ceremony-end');
    expect(r.summary).toMatch(/refused at step hsm-login \(line \d+\)/);
    // exactly one try was spent: no second login to seal after a wrong PIN
    expect(r.events.filter((e) => e.event.step === 'hsm-login' && e.event.result === 'refused')).toHaveLength(1);
  });
});

describe('an empty PIN is never sent to the token', () => {
  it('an empty CEREMONY_PIN is refused before C_Login (PIN_UNAVAILABLE, exit 2), not spent as a wrong PIN', () => {
    const run = runCeremony(['sign', '--trusted-key', 'bs/build-server.asc', '--key', KEY, '--out-dir', 'out-empty', '--record-dir', 'rec-empty', '--allow-network', ...bs.files], { env: { ...hsm.env, CEREMONY_PIN: '' }, cwd: work });
    expectCleanError(run, 'PIN_UNAVAILABLE', 2);
    expect(run.stderr).toContain('is empty; nothing was sent to the token');
    const logged = readFileSync(join(only('rec-empty'), 'log.jsonl'), 'utf8');
    expect(logged).not.toContain('PIN_INCORRECT');
  });
});

describe('payload sign: refused, sealed, reviewed as refused', () => {
  it('a tampered payload: refused at verify-input before any login, sealed by the token\'s OpenPGP key, no output', async () => {
    const inbox = join(work, 'inbox-payload');
    mkdirSync(inbox);
    const payload = join(inbox, 'flatcar_production_update.gz');
    writeDemoPayload(payload);
    await makeDemoBuildServer(inbox, { rsaBits: 2048, alsoSign: ['flatcar_production_update.gz'] });
    const bytes = readFileSync(payload);
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(payload, bytes);
    const gen = runCeremony(['key', 'generate', '--token', 'pkcs11:token=signing', '--label', 'payload-2026', '--bits', '2048', '--valid-days', '365'], { env });
    expect(gen.code, gen.stderr).toBe(0);
    const run = runCeremony(['payload', 'sign', '--key', 'pkcs11:token=signing;object=payload-2026', '--trusted-key', 'inbox-payload/build-server.asc', '--out', 'payload.signed', '--record-dir', 'rec-payload', '--allow-network', 'inbox-payload/flatcar_production_update.gz'], { env, cwd: work });
    expect(run.code, run.stderr).toBe(1);
    expect(existsSync(join(work, 'payload.signed'))).toBe(false);
    const record = only('rec-payload');
    const r = await reviewRecord(record, pinned('release.asc'));
    expectRefused(r, 'verify-input', r.refusal?.code === 'SIGNATURE_INVALID' ? 'SIGNATURE_INVALID' : 'DIGEST_MISMATCH');
    expect(r.events.map((e) => e.event.step)).not.toContain('hsm-login');
  }, 120_000);
});

describe('fail before the record: nothing is opened for what can be found first', () => {
  const refusedBefore = (args: string[], e: NodeJS.ProcessEnv, code: string, exit: number) => {
    const dir = `rec-before-${code}`;
    const run = runCeremony(['sign', '--trusted-key', 'bs/build-server.asc', '--record-dir', dir, '--allow-network', ...args], { env: e, cwd: work });
    expectCleanError(run, code, exit);
    expect(records(dir)).toEqual([]);
  };
  it('a missing PIN source (no terminal, no --pin-file, no CEREMONY_PIN)', () => refusedBefore(['--key', KEY, '--out-dir', 'o1', ...bs.files], hsm.env, 'PIN_UNAVAILABLE', 2));
  it('a missing key', () => refusedBefore(['--key', 'pkcs11:token=signing;object=no-such-key', '--out-dir', 'o2', ...bs.files], env, 'KEY_NOT_FOUND', 3));
  it('an output that exists', () => {
    mkdirSync(join(work, 'o3'), { recursive: true });
    writeFileSync(join(work, 'o3', 'version.txt.sig'), 'x');
    refusedBefore(['--key', KEY, '--out-dir', 'o3', ...bs.files], env, 'OUTPUT_EXISTS', 2);
  });
  it('a usage error', () => refusedBefore(['--key', KEY, '--out-dir', 'o4'], env, 'USAGE', 2));
});

describe('renew: refused, sealed, reviewed as refused', () => {
  beforeAll(() => {
    writeFileSync(
      join(work, 'config.json'),
      JSON.stringify({
        hsm: { module: SOFTHSM_MODULE, rootToken: 'root', signingToken: 'signing' },
        identity: { name: 'Example Image Signing Key', email: 'security@example.org' },
        quorum: { threshold: 2, custodians: [{ name: 'alice' }, { name: 'bob' }, { name: 'carol' }] },
      }),
    );
    const init = runCeremony(['init', '--config', 'config.json', '--out', 'init', '--record-dir', 'rec-init', '--allow-network'], { env, cwd: work });
    if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  }, 180_000);

  const renew = (dir: string, shares: string[], extra: string[] = [], e = env) =>
    runCeremony(['renew', '--config', 'config.json', '--out', `out-${dir}`, '--record-dir', dir, '--allow-network', ...shares.flatMap((s) => ['--share', `init/shares/${s}.share`]), ...extra], { env: e, cwd: work });

  it('an unconfirmed session: refused at quorum-session, sealed by the signing token key (the root key is still locked)', async () => {
    const run = renew('rec-session', ['alice', 'bob'], ['--session-id', '0000-0000-0000-0000']);
    expectCleanError(run, 'NOT_CONFIRMED', 1);
    const record = only('rec-session');
    const r = await reviewRecord(record, pinned('init/certificate.asc'));
    expectRefused(r, 'quorum-session', 'NOT_CONFIRMED');
    expect(r.events.map((e) => e.event.step)).not.toContain('root-login');
    expectAuditPasses(record, 'init/certificate.asc');
    // The seal is by the signing subkey, named as GnuPG names it: the subkey first, then its primary.
    const gpg = makeGpgHome();
    try {
      gpg.importKey(join(work, 'init/certificate.asc'));
      const v = gpg.verify(join(record, 'log.jsonl.asc'), join(record, 'log.jsonl'));
      const validsig = v.status.find((l) => l.startsWith('VALIDSIG '))!.split(' ');
      expect(validsig[1]).not.toBe(validsig[10]);
      expect(r.seal.signingKeyFingerprint).toBe(validsig[1]);
      expect(r.summary).toContain(`sealed by subkey ${validsig[1]} of primary ${validsig[10]}`);
      const cli = runCeremony(['audit', 'verify', '--trusted-key', 'init/certificate.asc', record], { cwd: work });
      expect(cli.stdout).toContain(`sealed by subkey ${validsig[1]} of primary ${validsig[10]}`);
    } finally {
      gpg.cleanup();
    }
  }, 120_000);

  it('bad shares (one good share and a mistyped one): refused at quorum-reached, sealed', async () => {
    const text = readFileSync(join(work, 'init/shares/bob.share'), 'utf8');
    const at = text.indexOf('Data:') + 8;
    writeFileSync(join(work, 'init/shares/bobtypo.share'), text.slice(0, at) + (text[at] === '0' ? '1' : '0') + text.slice(at + 1));
    const run = renew('rec-shares', ['alice', 'bobtypo']);
    expect(run.code).toBe(1);
    const record = only('rec-shares');
    const r = await reviewRecord(record, pinned('init/certificate.asc'));
    expectRefused(r, 'quorum-reached', 'QUORUM_NOT_MET');
    expect(r.events.some((e) => e.event.step === 'share-refused' && e.event.result === 'refused')).toBe(true);
    expectAuditPasses(record, 'init/certificate.asc');
  }, 120_000);

  it("a wrong maintainer PIN: refused at hsm-login, sealed by the root key the quorum unlocked", async () => {
    const run = renew('rec-wrongpin', ['alice', 'carol'], [], { ...hsm.env, CEREMONY_PIN: 'not-the-pin' });
    expectCleanError(run, 'PIN_INCORRECT', 3);
    const record = only('rec-wrongpin');
    const r = await reviewRecord(record, pinned('init/certificate.asc'));
    expectRefused(r, 'hsm-login', 'PIN_INCORRECT');
    expectAuditPasses(record, 'init/certificate.asc');
    // the refusal changed nothing: the shares in force still renew
    const ok = renew('rec-after', ['alice', 'carol']);
    expect(ok.code, ok.stderr).toBe(0);
  }, 180_000);
});
