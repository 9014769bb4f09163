/**
 * Refusals read as refusals (issue 13): a ceremony that correctly refused is sealed whenever a seal key
 * can be reached and reviews as "refused at step X" (exit 0 from `audit verify` with the seal pinned),
 * never as "incomplete" like a killed one; a wrong PIN at sign, where the seal key is behind the very PIN
 * the token refused, reviews as "refused-unsealed" (exit 1), and so does a forged cut of a sealed record
 * ending in such a refusal; and what can be found before the ceremony (usage, a missing PIN source, a
 * missing key, an existing output) is refused before any record exists.
 * Real SoftHSM tokens, the real binary (under a real pty where a person types), real init/renew ceremonies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { makeSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../../helpers/softhsm.js';
import { expectCleanError, runCeremony } from '../../helpers/cli.js';
import { runUnderPty } from '../../helpers/pty.js';
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

/**
 * A refusal no seal key could reach: whole and ended, unsealed, its own verdict, and `audit verify` fails it
 * (exit 1, AUDIT_FAILED) with the refusal and why it is unsealed on its first line.
 */
async function expectRefusedUnsealed(record: string, code: string): Promise<Review> {
  const r = await reviewRecord(record, pinned('release.asc'));
  expect(r.verdict, r.summary).toBe('refused-unsealed');
  expect(r.seal.present).toBe(false);
  expect(r.lastStep).toBe('ceremony-end');
  expect(r.refusal).toMatchObject({ step: 'hsm-login', code });
  const v = runCeremony(['audit', 'verify', '--trusted-key', 'release.asc', record], { cwd: work });
  expectCleanError(v, 'AUDIT_FAILED', 1);
  expect(v.stdout.split('\n')[0]).toMatch(new RegExp(`^refused at step hsm-login \\(line \\d+\\): ${code}: .* — unsealed: the seal key is behind the PIN the token refused`));
  expect(v.stderr).toContain('the record is a refusal left unsealed: refused at step hsm-login');
  return r;
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

  it('a wrong PIN: the key that would seal is the one whose PIN was refused, so the record ends refused-unsealed (exit 1), not incomplete', async () => {
    const run = runCeremony(['sign', '--trusted-key', 'bs/build-server.asc', '--key', KEY, '--out-dir', 'out-pin', '--record-dir', 'rec-pin', '--allow-network', ...bs.files], { env: { ...hsm.env, CEREMONY_PIN: 'not-the-pin' }, cwd: work });
    expectCleanError(run, 'PIN_INCORRECT', 3);
    const r = await expectRefusedUnsealed(only('rec-pin'), 'PIN_INCORRECT');
    // exactly one try was spent: no second login to seal after a wrong PIN
    expect(r.events.filter((e) => e.event.step === 'hsm-login' && e.event.result === 'refused')).toHaveLength(1);
  });

  it('an untrusted input (signed by a key that is not the pinned build key): refused at verify-input, sealed', async () => {
    const run = runCeremony(['sign', '--trusted-key', 'release.asc', '--key', KEY, '--out-dir', 'out-untrusted', '--record-dir', 'rec-untrusted', '--allow-network', ...bs.files], { env, cwd: work });
    expect(run.code, run.stderr).toBe(1);
    expect(existsSync(join(work, 'out-untrusted')) ? readdirSync(join(work, 'out-untrusted')) : []).toEqual([]);
    const record = only('rec-untrusted');
    const r = await reviewRecord(record, pinned('release.asc'));
    expectRefused(r, 'verify-input', 'SIGNATURE_UNTRUSTED');
    expectAuditPasses(record, 'release.asc');
  });
});

describe('sign at a terminal: a wrong PIN on every try, a killed ceremony, a wrong PIN then the right one', () => {
  /** A person at a terminal: no CEREMONY_PIN, so the PIN is asked (without echo) on the pty. */
  const tty = () => ({ ...hsm.env, CEREMONY_PIN: undefined });
  const signAt = (rec: string) => ['sign', '--trusted-key', 'bs/build-server.asc', '--key', KEY, '--out-dir', `out-${rec}`, '--record-dir', rec, '--allow-network', ...bs.files.map((f) => f.slice(work.length + 1))];
  const pinPrompt = "PIN for token 'signing': ";

  it('a wrong PIN on every try: the ceremony stops after the third (PIN_ATTEMPTS_EXHAUSTED) and the record reviews refused-unsealed, exit 1', async () => {
    const run = runUnderPty(signAt('rec-tty-wrong'), [
      { expect: 'Type yes to sign 2 files: ', send: 'yes\r' },
      { expect: pinPrompt, send: 'wrong-one\r', secret: true },
      { expect: pinPrompt, send: 'wrong-two\r', secret: true },
      { expect: pinPrompt, send: 'wrong-three\r', secret: true },
    ], { env: tty(), cwd: work });
    expect(run.code, run.screen).toBe(3);
    expect(run.answered).toBe(4);
    expect(run.screen).toMatch(/error\[PIN_ATTEMPTS_EXHAUSTED\]/);
    const r = await expectRefusedUnsealed(only('rec-tty-wrong'), 'PIN_ATTEMPTS_EXHAUSTED');
    expect(r.events.filter((e) => e.event.step === 'hsm-login' && e.event.result === 'refused')).toHaveLength(3);
  }, 120_000);

  it('a ceremony killed at the PIN prompt after a wrong try still reviews as incomplete (no end, no refusal verdict), exit 1', async () => {
    const run = runUnderPty(signAt('rec-tty-killed'), [
      { expect: 'Type yes to sign 2 files: ', send: 'yes\r' },
      { expect: pinPrompt, send: 'wrong-one\r', secret: true },
      { expect: pinPrompt, send: '', kill: true },
    ], { env: tty(), cwd: work });
    expect(run.code, run.screen).toBe(-9);
    const record = only('rec-tty-killed');
    const r = await reviewRecord(record, pinned('release.asc'));
    expect(r.verdict, r.summary).toBe('incomplete');
    expect(r.outcome).toBe('unfinished');
    expect(r.summary).toMatch(/^incomplete, stopped after step hsm-login \(line \d+\)$/);
    expect(r.events.some((e) => e.event.step === 'hsm-login' && e.event.result === 'refused')).toBe(true);
    const v = runCeremony(['audit', 'verify', '--trusted-key', 'release.asc', record], { cwd: work });
    expectCleanError(v, 'AUDIT_FAILED', 1);
    expect(v.stdout.split('\n')[0]).toMatch(/^incomplete, stopped after step hsm-login/);
  }, 120_000);

  it('a wrong PIN, then the right one: signed, the wrong try on record as refused, sealed, intact', async () => {
    const run = runUnderPty(signAt('rec-tty-retry'), [
      { expect: 'Type yes to sign 2 files: ', send: 'yes\r' },
      { expect: pinPrompt, send: 'wrong-one\r', secret: true },
      { expect: pinPrompt, send: `${PIN}\r`, secret: true },
    ], { env: tty(), cwd: work });
    expect(run.code, run.screen).toBe(0);
    const r = await reviewRecord(only('rec-tty-retry'), pinned('release.asc'));
    expect(r.verdict, r.summary).toBe('intact');
    expect(r.pinned).toBe(true);
    expect(r.events.filter((e) => e.event.step === 'hsm-login').map((e) => [e.event.result, e.event.code])).toEqual([['refused', 'PIN_INCORRECT'], ['ok', undefined]]);
  }, 120_000);

  it('not confirmed, then a wrong PIN and the right one for the seal: refused at confirm, sealed, nothing signed', async () => {
    const run = runUnderPty(signAt('rec-tty-no'), [
      { expect: 'Type yes to sign 2 files: ', send: 'no\r' },
      { expect: pinPrompt, send: 'wrong-one\r', secret: true },
      { expect: pinPrompt, send: `${PIN}\r`, secret: true },
    ], { env: tty(), cwd: work });
    expect(run.code, run.screen).toBe(1);
    expect(run.screen).toMatch(/error\[NOT_CONFIRMED\]/);
    expect(existsSync(join(work, 'out-rec-tty-no')) ? readdirSync(join(work, 'out-rec-tty-no')) : []).toEqual([]);
    const record = only('rec-tty-no');
    expectRefused(await reviewRecord(record, pinned('release.asc')), 'confirm', 'NOT_CONFIRMED');
    expectAuditPasses(record, 'release.asc');
  }, 120_000);
});

describe('a forger cannot turn a sealed record into a clean refusal', () => {
  it('a sealed successful sign record cut before its login, with a PIN refusal appended and the seal removed, reviews refused-unsealed (exit 1), never a pass', async () => {
    const ok = runCeremony(['sign', '--trusted-key', 'bs/build-server.asc', '--key', KEY, '--out-dir', 'out-good', '--record-dir', 'rec-good', '--allow-network', ...bs.files], { env, cwd: work });
    expect(ok.code, ok.stderr).toBe(0);
    const good = only('rec-good');
    expect((await reviewRecord(good, pinned('release.asc'))).verdict).toBe('intact');
    // The forger keeps everything up to the login, appends what a wrong PIN writes, re-computes the chain.
    const forged = join(work, 'rec-forged', good.slice(good.lastIndexOf('/') + 1));
    cpSync(good, forged, { recursive: true });
    const lines = readFileSync(join(forged, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const cut = lines.slice(0, lines.findIndex((e) => e.step === 'hsm-login'));
    const last = cut.at(-1)!;
    const forge = (step: string, result: string, detail: string, code?: string) => ({ ...last, step, actor: { role: step === 'ceremony-end' ? 'system' : 'maintainer' }, result, detail, ...(code ? { code } : {}), inputs: undefined, key: undefined });
    const events = [...cut, forge('hsm-login', 'refused', "wrong PIN for token 'signing'", 'PIN_INCORRECT'), forge('hsm-login', 'failed', "wrong PIN for token 'signing' (2 tries left before the ceremony stops)", 'PIN_INCORRECT'), forge('ceremony-end', 'failed', 'ceremony stopped: step hsm-login failed; no seal key could be reached, so the record is not sealed')];
    let prev = '0'.repeat(64);
    const text = events
      .map((e, i) => {
        const line = JSON.stringify({ ...e, seq: i + 1, prev });
        prev = createHash('sha256').update(line).digest('hex');
        return line + '\n';
      })
      .join('');
    writeFileSync(join(forged, 'log.jsonl'), text);
    // With the old seal left in place it is tampered; with the seal removed, an unsealed refusal: exit 1 either way.
    const kept = await reviewRecord(forged, pinned('release.asc'));
    expect(kept.verdict).toBe('tampered');
    expectCleanError(runCeremony(['audit', 'verify', '--trusted-key', 'release.asc', forged], { cwd: work }), 'AUDIT_FAILED', 1);
    rmSync(join(forged, 'log.jsonl.asc'));
    await expectRefusedUnsealed(forged, 'PIN_INCORRECT');
    const plain = runCeremony(['audit', 'verify', forged], { cwd: work });
    expect(plain.code).toBe(1);
  }, 120_000);
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

  it('too few shares (one of two, nobody at a terminal to paste another): refused at quorum-reached, sealed', async () => {
    const run = renew('rec-few', ['alice']);
    expectCleanError(run, 'QUORUM_NOT_MET', 1);
    const record = only('rec-few');
    const r = await reviewRecord(record, pinned('init/certificate.asc'));
    expectRefused(r, 'quorum-reached', 'QUORUM_NOT_MET');
    expect(r.events.map((e) => e.event.step)).not.toContain('root-login');
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

describe('init: a refusal after the root key exists is sealed by that key', () => {
  it('a wrong maintainer PIN at the signing token: refused at hsm-login and sealed by the new root key, not left incomplete', async () => {
    writeFileSync(
      join(work, 'config-wrong-pin.json'),
      JSON.stringify({
        hsm: { module: SOFTHSM_MODULE, rootToken: 'root-wrong-pin', signingToken: 'signing' },
        identity: { name: 'Example Image Signing Key', email: 'security@example.org' },
        quorum: { threshold: 2, custodians: [{ name: 'alice' }, { name: 'bob' }, { name: 'carol' }] },
      }),
    );
    const run = runCeremony(['init', '--config', 'config-wrong-pin.json', '--out', 'init-wrong-pin', '--record-dir', 'rec-init-wrong-pin', '--allow-network'], { env: { ...env, CEREMONY_PIN: 'not-the-pin' }, cwd: work });
    expectCleanError(run, 'PIN_INCORRECT', 3);
    expect(existsSync(join(work, 'init-wrong-pin', 'shares'))).toBe(false);
    const record = only('rec-init-wrong-pin');
    // The root key that sealed it is wiped with its token by the rollback: pin the certificate the record
    // carries, and check it is the root key the record says this ceremony made.
    const keyFiles = readdirSync(join(record, 'keys'));
    expect(keyFiles).toHaveLength(1);
    const r = await reviewRecord(record, { trustedCertificates: [readFileSync(join(record, 'keys', keyFiles[0]!), 'utf8')] });
    expectRefused(r, 'hsm-login', 'PIN_INCORRECT');
    const built = r.events.find((e) => e.event.step === 'build-certificate' && e.event.result === 'ok')?.event.key?.fingerprint;
    expect(built).toMatch(/^[0-9A-F]{40}$/);
    expect(r.seal.signerFingerprint).toBe(built);
  });
});
