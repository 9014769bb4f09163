/**
 * The verdict `refused-unsealed` (issue 13, ceremony/audit/unsealed-refusal.ts), one test per branch: it is
 * given only to a whole, chained log that ended `failed` because the token refused the PIN guarding the seal
 * key at the first login, and never passes; everything else unsealed stays `incomplete`, and tampering or a
 * policy breach keeps its own verdict. Records are written by the real writer (CeremonyRecord).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { reviewRecord, verdictPasses, type Review } from '../../../ceremony/audit/review.js';
import { isUnsealableRefusal } from '../../../ceremony/audit/unsealed-refusal.js';
import { finding } from '../../../ceremony/audit/findings.js';
import { renderReport } from '../../../ceremony/audit/report.js';
import type { EventInput } from '../../../ceremony/audit/events.js';
import { makeOpenpgpSealer, type TestSealer } from '../../helpers/openpgp-sealer.js';
import { sampleEvents, writeSampleRecord, type SampleFiles } from '../../helpers/audit-records.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

let sealer: TestSealer;
const work = tempDirs('audit-unsealed-');
beforeAll(async () => {
  sealer = await makeOpenpgpSealer('Ceremony Seal');
});

const maintainer = { role: 'maintainer' as const, name: 'Mara Maintainer' };
const wrongTry: EventInput = { step: 'hsm-login', actor: maintainer, result: 'refused', code: 'PIN_INCORRECT', detail: "wrong PIN for token 'signing'" };
const failedLogin = (code: string | undefined, step: EventInput['step'] = 'hsm-login'): EventInput => ({
  step,
  actor: maintainer,
  result: 'failed',
  ...(code ? { code } : {}),
  detail: `wrong PIN for token 'signing'; the ceremony stops`,
});

/** The sign ceremony's events up to its first login (verify, show, confirm), then `tail`. */
const beforeLogin = (f: SampleFiles) => {
  const evs = sampleEvents('sign', f);
  return evs.slice(0, evs.findIndex((e) => e.step === 'hsm-login'));
};

/** A sign record, unsealed unless a sealer is given, whose events after the verification are `tail`. */
async function signRecord(tail: EventInput[], opts: { sealer?: TestSealer; stopAfter?: number } = {}): Promise<string> {
  return writeSampleRecord(work(), 'sign', opts.sealer, { events: (f) => [...beforeLogin(f), ...tail], ...(opts.stopAfter !== undefined ? { stopAfter: opts.stopAfter } : {}) });
}

/** Edit the log's lines as a forger who knows the format would, re-computing the chain after the first edit. */
function rewriteLog(dir: string, edit: (events: Record<string, unknown>[]) => Record<string, unknown>[]): void {
  const path = join(dir, 'log.jsonl');
  const events = edit(readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));
  let prev = '0'.repeat(64);
  const lines = events.map((e, i) => {
    const line = JSON.stringify({ ...e, seq: i + 1, prev });
    prev = createHash('sha256').update(line).digest('hex');
    return line;
  });
  writeFileSync(path, lines.map((l) => l + '\n').join(''));
}

function expectRefusedUnsealed(r: Review, code: string): void {
  expect(r.verdict, r.summary).toBe('refused-unsealed');
  expect(verdictPasses(r.verdict)).toBe(false);
  expect(r.outcome).toBe('failed');
  expect(r.seal.present).toBe(false);
  expect(r.refusal).toMatchObject({ step: 'hsm-login', code });
  expect(r.headline).toBe('refused at step hsm-login (unsealed)');
  expect(r.summary).toMatch(
    new RegExp(`^refused at step hsm-login \\(line ${r.refusal!.line}\\): ${code}: .* — unsealed: the seal key is behind the PIN the token refused, so nothing proves who wrote this log or that nothing was cut from it$`),
  );
  expect(r.findings.filter((f) => f.class !== 'note').map((f) => f.code)).toEqual(['seal-missing']);
}

describe('refused-unsealed: the token refused the PIN that guards the seal key', () => {
  for (const code of ['PIN_INCORRECT', 'PIN_ATTEMPTS_EXHAUSTED', 'PIN_LOCKED']) {
    it(`a whole, ended log stopped at the first login by ${code} reviews as refused-unsealed and does not pass`, async () => {
      const r = await reviewRecord(await signRecord(code === 'PIN_LOCKED' ? [failedLogin(code)] : [wrongTry, failedLogin(code)]));
      expectRefusedUnsealed(r, code);
    });
  }

  it('the HTML report gives it a badge of its own (not green, not the refused or incomplete colour) and says why the seal is missing', async () => {
    const r = await reviewRecord(await signRecord([wrongTry, failedLogin('PIN_INCORRECT')]));
    const html = renderReport(r, new Date('2026-11-22T02:00:00Z'));
    expect(html).toContain('<span class="verdict v-refused-unsealed" id="verdict" data-verdict="refused-unsealed">Refused — unsealed</span>');
    expect(html).toMatch(/\.v-refused-unsealed\{background:#8250df\}/);
    for (const other of ['intact', 'refused', 'incomplete', 'unpinned']) expect(html).not.toMatch(new RegExp(`\\.v-${other}\\{background:#8250df\\}`));
    expect(html).toContain('the seal key is behind the PIN the token refused');
  });
});

describe('everything else unsealed stays incomplete', () => {
  it('a ceremony killed at the PIN prompt after a wrong try (no failure, no ceremony-end) is incomplete, stopped after hsm-login', async () => {
    const r = await reviewRecord(await signRecord([wrongTry]));
    expect(r.verdict).toBe('incomplete');
    expect(r.outcome).toBe('unfinished');
    expect(r.summary).toMatch(/^incomplete, stopped after step hsm-login \(line \d+\)$/);
  });

  it('a failure at the login that is not the token refusing the PIN (an empty PIN, PIN_UNAVAILABLE) is incomplete', async () => {
    expect((await reviewRecord(await signRecord([failedLogin('PIN_UNAVAILABLE')]))).verdict).toBe('incomplete');
  });

  it('a failed login without a code is incomplete', async () => {
    expect((await reviewRecord(await signRecord([failedLogin(undefined)]))).verdict).toBe('incomplete');
  });

  it('a PIN refusal at another step than hsm-login (root-login) is incomplete', async () => {
    expect((await reviewRecord(await signRecord([failedLogin('PIN_INCORRECT', 'root-login')]))).verdict).toBe('incomplete');
  });

  it('a PIN refusal after an earlier login succeeded (a seal key may have been open) is incomplete', async () => {
    const okLogin: EventInput = { step: 'hsm-login', actor: maintainer, detail: "logged in to 'payload'" };
    expect((await reviewRecord(await signRecord([okLogin, failedLogin('PIN_INCORRECT')]))).verdict).toBe('incomplete');
    const rootLogin: EventInput = { step: 'root-login', detail: "logged in to 'root'" };
    expect((await reviewRecord(await signRecord([rootLogin, failedLogin('PIN_INCORRECT')]))).verdict).toBe('incomplete');
  });

  it('a record whose seal was begun (a seal event) but whose signature never came is incomplete: the seal key was reached', async () => {
    const failing: TestSealer = { ...sealer, sign: () => Promise.reject(new Error('the token was pulled')) };
    const w = work();
    await expect(writeSampleRecord(w, 'sign', failing, { events: (f) => [...beforeLogin(f), wrongTry, failedLogin('PIN_INCORRECT')] })).rejects.toThrow();
    const record = join(w, 'records', readdirSync(join(w, 'records'))[0]!);
    const r = await reviewRecord(record);
    expect(r.events.some((e) => e.event.step === 'seal')).toBe(true);
    expect(r.verdict, r.summary).toBe('incomplete');
  });

  it('an ended log whose ceremony-end says ok after a failed login is incomplete', async () => {
    const dir = await signRecord([wrongTry, failedLogin('PIN_INCORRECT')]);
    rewriteLog(dir, (evs) => evs.map((e, i) => (i === evs.length - 1 ? { ...e, result: 'ok' } : e)));
    expect((await reviewRecord(dir)).verdict).toBe('incomplete');
  });

  it('only a missing seal may stand beside it: with any other problem, or none, the rule does not apply', () => {
    const end = { line: 3, event: { step: 'ceremony-end', result: 'failed' } };
    const events = [{ line: 1, event: { step: 'ceremony-start', result: 'ok' } }, { line: 2, event: { step: 'hsm-login', result: 'failed', code: 'PIN_INCORRECT' } }, end] as Parameters<typeof isUnsealableRefusal>[0];
    expect(isUnsealableRefusal(events, [finding('seal-missing', 'no seal')])).toBe(true);
    expect(isUnsealableRefusal(events, [])).toBe(false);
    expect(isUnsealableRefusal(events, [finding('seal-missing', 'no seal'), finding('not-finished', 'stopped')])).toBe(false);
    expect(isUnsealableRefusal(events, [finding('seal-missing', 'no seal'), finding('artifact-absent', 'a note')])).toBe(true);
  });
});

describe('tampering and policy keep their verdicts', () => {
  it('an edited line in an unsealed PIN refusal is tampered', async () => {
    const dir = await signRecord([wrongTry, failedLogin('PIN_INCORRECT')]);
    const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8').split('\n');
    lines[2] = lines[2]!.replace('"ok"', '"warning"');
    writeFileSync(join(dir, 'log.jsonl'), lines.join('\n'));
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('tampered');
    expect(r.findings.find((f) => f.code === 'chain-break')?.line).toBe(4);
  });

  it('a step after the refused login (signing on) is a policy violation', async () => {
    const signOn: EventInput = { step: 'select-key', detail: 'signing subkey selected' };
    expect((await reviewRecord(await signRecord([wrongTry, failedLogin('PIN_INCORRECT'), signOn]))).verdict).toBe('policy-violation');
  });

  it('the same refusal sealed (a seal key was reachable) is refused, a pass', async () => {
    const r = await reviewRecord(await signRecord([wrongTry, failedLogin('PIN_INCORRECT')], { sealer }), { trustedCertificates: [sealer.certificateArmored] });
    expect(r.verdict, r.summary).toBe('refused');
    expect(verdictPasses(r.verdict)).toBe(true);
  });
});

describe('refused-unsealed: a restore refused before it restored any key (nothing existed that could seal it)', () => {
  const tamperedBackup: EventInput = { step: 'verify-input', result: 'failed', code: 'BACKUP_INVALID', detail: 'the backup does not authenticate under the set' };
  const restoreEvents = (f: SampleFiles) => sampleEvents('restore', f);
  const upTo = (f: SampleFiles, step: EventInput['step']) => restoreEvents(f).slice(0, restoreEvents(f).findIndex((e) => e.step === step));

  it('a tampered backup refused at verify-input reviews refused-unsealed, says why, and does not pass', async () => {
    const r = await reviewRecord(await writeSampleRecord(work(), 'restore', undefined, { events: (f) => [...upTo(f, 'verify-input'), tamperedBackup] }));
    expect(r.verdict, r.summary).toBe('refused-unsealed');
    expect(verdictPasses(r.verdict)).toBe(false);
    expect(r.refusal).toMatchObject({ step: 'verify-input', code: 'BACKUP_INVALID' });
    expect(r.unsealedBecause).toMatch(/^no key that could seal it existed yet/);
    expect(r.summary).toMatch(/^refused at step verify-input \(line \d+\): BACKUP_INVALID: .* — unsealed: no key that could seal it existed yet \(a restore runs on fresh tokens and seals with the keys it restores\), so nothing proves/);
    expect(renderReport(r, new Date('2026-11-22T02:00:00Z'))).toContain('no key that could seal it existed yet');
  });

  it('a restore that failed after a key was restored (it had a key to seal with) stays incomplete', async () => {
    const failedLate: EventInput = { step: 'self-check', result: 'failed', code: 'SELF_CHECK_FAILED', detail: 'a restored key does not verify' };
    const r = await reviewRecord(await writeSampleRecord(work(), 'restore', undefined, { events: (f) => [...upTo(f, 'self-check'), failedLate] }));
    expect(r.verdict, r.summary).toBe('incomplete');
  });

  it('a sign record refused at verify-input and left unsealed is not excused by the restore rule: incomplete', async () => {
    const r = await reviewRecord(await writeSampleRecord(work(), 'sign', undefined, { events: (f) => [...beforeLogin(f).filter((e) => e.step !== 'verify-input'), { ...tamperedBackup, code: 'DIGEST_MISMATCH' }] }));
    expect(r.verdict, r.summary).toBe('incomplete');
  });
});
