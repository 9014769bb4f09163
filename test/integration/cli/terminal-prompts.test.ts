/**
 * The CLI's questions under a real pseudo-terminal (issue 13): the signing confirmation before any HSM
 * login, the no-echo PIN and share prompts (the typed secret never appears on the captured screen) and
 * the quorum session confirmation, which takes the session ID's first groups and refuses "yes".
 * Real SoftHSM tokens, the real binary, a real pty (Python's pty module).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../../helpers/softhsm.js';
import { runCeremony } from '../../helpers/cli.js';
import { runUnderPty } from '../../helpers/pty.js';
import { makeDemoBuildServer, type DemoBuildServer } from '../../../ceremony/release/demo-build-server.js';
import { reviewRecord } from '../../../ceremony/audit/review.js';

const PIN = 'typed-at-the-terminal-31337';
const KEY = 'pkcs11:token=signing;object=release-2026';
let hsm: SoftHsm;
let work: string;
let bs: DemoBuildServer;
/** The environment of a person at a terminal: no CEREMONY_PIN, tokens of this test. */
let tty: NodeJS.ProcessEnv;

const records = (dir: string) => (existsSync(join(work, dir)) ? readdirSync(join(work, dir)).map((d) => join(work, dir, d)) : []);
const events = (record: string) => readFileSync(join(record, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: string; result: string; detail: string });
const grouped = (hex: string) => hex.toUpperCase().replace(/(.{4})(?=.)/g, '$1 ');

beforeAll(async () => {
  hsm = makeSoftHsm('ceremony-pty-');
  hsm.initToken('signing', PIN);
  work = join(hsm.dir, 'work');
  mkdirSync(work);
  tty = { ...hsm.env, CEREMONY_PIN: undefined };
  bs = await makeDemoBuildServer(join(work, 'bs'), { rsaBits: 2048 });
  const env = { ...hsm.env, CEREMONY_PIN: PIN };
  const gen = runCeremony(['key', 'generate', '--token', 'pkcs11:token=signing', '--label', 'release-2026', '--bits', '2048', '--valid-days', '365', '--openpgp-uid', 'Example Release Signing <release@example.org>'], { env });
  expect(gen.code, gen.stderr).toBe(0);
}, 120_000);

afterAll(() => hsm?.cleanup());

const signArgs = (out: string, rec: string) => ['sign', '--trusted-key', 'bs/build-server.asc', '--key', KEY, '--out-dir', out, '--record-dir', rec, '--allow-network', ...bs.files.map((f) => f.slice(work.length + 1))];

describe('ceremony sign at a terminal', () => {
  it('shows the key and every input with grouped SHA-256, asks "Type yes to sign N files" before any login, and reads the PIN without echo (an empty PIN is not sent)', async () => {
    const run = runUnderPty(signArgs('out-yes', 'rec-yes'), [
      { expect: 'Type yes to sign 2 files: ', send: 'yes\r' },
      { expect: "PIN for token 'signing': ", send: '\r', secret: true },
      { expect: 'an empty PIN is not sent to the token', send: '' },
      { expect: "PIN for token 'signing': ", send: `${PIN}\r`, secret: true },
    ], { env: tty, cwd: work });
    expect(run.code, run.screen).toBe(0);
    expect(run.answered).toBe(4);
    expect(run.screen).not.toContain(PIN);
    const confirm = run.screen.slice(0, run.screen.indexOf('Type yes to sign 2 files'));
    expect(confirm).toContain('No PIN has been asked and nothing has been signed yet.');
    expect(confirm).toMatch(/Key {8}release-2026 {2}\(OpenPGP signing key\)/);
    expect(confirm).toMatch(/expires \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    const record = records('rec-yes')[0]!;
    const review = await reviewRecord(record);
    expect(review.verdict).toBe('intact');
    for (const i of review.events.find((e) => e.event.step === 'verify-input')!.event.inputs!) {
      expect(confirm).toContain(`Input      ${i.name}`);
      expect(confirm).toContain(`SHA-256  ${i.sha256.replace(/(.{4})(?=.)/g, '$1 ')}`);
    }
    const fpr = review.events.find((e) => e.event.step === 'sign')!.event.key!.fingerprint!;
    expect(confirm).toContain(grouped(fpr));
    const steps = events(record);
    // the confirmation is recorded before the login, and the empty PIN cost no try
    expect(steps.findIndex((e) => e.step === 'confirm')).toBeLessThan(steps.findIndex((e) => e.step === 'hsm-login'));
    expect(steps.find((e) => e.step === 'confirm')!.detail).toMatch(/confirmed by the operator$/);
    expect(steps.filter((e) => e.step === 'hsm-login' && e.result === 'refused')).toEqual([]);
  }, 120_000);

  it('an answer other than yes signs nothing; the refusal is recorded at step confirm and sealed with a PIN asked only for the seal', async () => {
    const run = runUnderPty(signArgs('out-no', 'rec-no'), [
      { expect: 'Type yes to sign 2 files: ', send: 'no\r' },
      { expect: "PIN for token 'signing': ", send: `${PIN}\r`, secret: true },
    ], { env: tty, cwd: work });
    expect(run.code, run.screen).toBe(1);
    expect(run.screen).toMatch(/error\[NOT_CONFIRMED\]: the operator did not confirm, so nothing was signed/);
    expect(run.screen).toContain('only to seal the record of this refusal');
    expect(run.screen).not.toContain(PIN);
    expect(existsSync(join(work, 'out-no')) ? readdirSync(join(work, 'out-no')) : []).toEqual([]);
    const review = await reviewRecord(records('rec-no')[0]!);
    expect(review.verdict, review.summary).toBe('refused');
    expect(review.refusal).toMatchObject({ step: 'confirm', code: 'NOT_CONFIRMED' });
  }, 120_000);

  it('--yes skips the question, and the record says it was confirmed in advance', () => {
    const run = runUnderPty([...signArgs('out-y', 'rec-y'), '--yes'], [{ expect: "PIN for token 'signing': ", send: `${PIN}\r`, secret: true }], { env: tty, cwd: work });
    expect(run.code, run.screen).toBe(0);
    expect(run.screen).not.toContain('Type yes');
    expect(events(records('rec-y')[0]!).find((e) => e.step === 'confirm')!.detail).toMatch(/confirmed in advance with --yes$/);
  }, 120_000);
});

describe('ceremony renew at a terminal', () => {
  beforeAll(() => {
    writeFileSync(
      join(work, 'config.json'),
      JSON.stringify({
        hsm: { module: SOFTHSM_MODULE, rootToken: 'root', signingToken: 'signing' },
        identity: { name: 'Example Image Signing Key', email: 'security@example.org' },
        quorum: { threshold: 2, custodians: [{ name: 'alice' }, { name: 'bob' }, { name: 'carol' }] },
      }),
    );
    const init = runCeremony(['init', '--config', 'config.json', '--out', 'init', '--record-dir', 'rec-init', '--allow-network'], { env: { ...hsm.env, CEREMONY_PIN: PIN }, cwd: work });
    if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  }, 180_000);

  it('"yes" does not confirm the session: the first groups of the session ID do (the same rule as the app and --session-id)', async () => {
    const run = runUnderPty(['renew', '--config', 'config.json', '--out', 'out-yes', '--record-dir', 'rec-renew-yes', '--allow-network', '--share', 'init/shares/alice.share'], [
      { expect: 'type its first 4 groups \\(([0-9a-f]{4}-){3}[0-9a-f]{4}\\) to go on: ', send: 'yes\r' },
    ], { env: { ...hsm.env, CEREMONY_PIN: PIN }, cwd: work });
    expect(run.code, run.screen).toBe(1);
    expect(run.screen).toMatch(/error\[NOT_CONFIRMED\]: the custodians did not confirm the quorum session ID/);
    const review = await reviewRecord(records('rec-renew-yes')[0]!);
    expect(review.verdict, review.summary).toBe('refused');
    expect(review.refusal?.step).toBe('quorum-session');
  }, 120_000);

  it('confirms with the typed short form, takes a pasted share without echo, and renews', async () => {
    const bob = readFileSync(join(work, 'init/shares/bob.share'), 'utf8');
    const data = bob.match(/^Data:([\s\S]*?)\nChecksum/m)![1]!;
    const run = runUnderPty(['renew', '--config', 'config.json', '--out', 'out-renew', '--record-dir', 'rec-renew', '--allow-network', '--share', 'init/shares/alice.share'], [
      // type back the short form the screen shows, as the operator does
      { expect: 'type its first 4 groups \\((([0-9a-f]{4}-){3}[0-9a-f]{4})\\) to go on: ', send: '{1}\r' },
      { expect: 'Share 2 of 2: paste the share', send: bob.replace(/\n/g, '\r'), secret: true },
    ], { env: { ...hsm.env, CEREMONY_PIN: PIN }, cwd: work });
    expect(run.code, run.screen).toBe(0);
    expect(run.screen).toContain('line(s) received (not shown)');
    // any two neighbouring groups of the pasted share, as they were typed (one group alone could occur by chance)
    const groups = data.trim().split(/\s+/);
    for (let i = 0; i + 1 < groups.length; i++) expect(run.screen).not.toContain(`${groups[i]} ${groups[i + 1]}`);
    expect(run.screen).not.toContain('BEGIN QUORUM SHARE');
    const review = await reviewRecord(records('rec-renew')[0]!);
    expect(review.verdict, review.summary).toBe('intact');
    expect(review.events.find((e) => e.event.step === 'quorum-session')!.event.detail).toMatch(/confirmed by the custodians/);
  }, 240_000);
});
