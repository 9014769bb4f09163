/**
 * Attacks on the payload ceremonies (issue 12), run in-process on a real SoftHSM token, a real stand-in
 * build server and real files, with two seams only: the payload source of the signing pass (a hostile
 * writer who changes the payload between reads, test/helpers/swapping-source.ts) and the ceremony's
 * reporter, whose "step running" call is the moment between the early checks and the late writes where
 * an attacker plants files.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SOFTHSM_MODULE, type SoftHsm } from '../../helpers/softhsm.js';
import { swapOnRead } from '../../helpers/swapping-source.js';
import type { DemoBuildServer } from '../../../ceremony/release/demo-build-server.js';
import { parsePkcs11Uri } from '../../../ceremony/hsm/uri.js';
import { runPayloadSign } from '../../../ceremony/ceremonies/payload-sign.js';
import { runSignUpdate } from '../../../ceremony/ceremonies/sign-update.js';
import type { CeremonyContext, CeremonyReporter } from '../../../ceremony/ceremonies/runner.js';
import type { CeremonyStep } from '../../../ceremony/audit/events.js';
import { reviewRecord } from '../../../ceremony/audit/review.js';
import { makePayloadFixture, RELEASE_AND_PAYLOAD_KEYS, type PayloadFixture } from './fixture.js';

const PIN = 'payload-attacks-1';
const RELEASE_KEY = parsePkcs11Uri('pkcs11:token=signing;object=release');
const PAYLOAD_KEY = parsePkcs11Uri('pkcs11:token=signing;object=payload');
let f: PayloadFixture;
let hsm: SoftHsm;
let bs: DemoBuildServer;
let payload: string;
let work: string;
let n = 0;

beforeAll(async () => {
  // several stages: reads 3, 4, 5, 6 are blob reads
  f = await makePayloadFixture({ prefix: 'payload-attacks-', pin: PIN, keys: { signing: [...RELEASE_AND_PAYLOAD_KEYS] }, payloadBytes: 13 * 1024 * 1024 + 77 });
  ({ hsm, bs, payload } = f);
}, 180_000);

afterAll(() => f?.cleanup());

beforeEach(() => {
  work = join(hsm.dir, `run-${++n}`);
  mkdirSync(work);
});

/** The ceremony context, with a reporter that calls `onRunning` when a step starts. */
function context(onRunning: (step: CeremonyStep) => void = () => {}): CeremonyContext {
  const reporter: CeremonyReporter = {
    step(step, state) {
      if (state === 'running') onRunning(step);
    },
    warn() {},
  };
  return f.context(join(work, 'records'), { reporter });
}


describe('a payload changed between the reads of its signing pass is never signed (item 1)', () => {
  for (const read of [3, 5]) {
    it(`payload sign --trusted-key: bytes swapped on read ${read} of the signing pass: DIGEST_MISMATCH, nothing written`, async () => {
      const out = join(work, 'update.signed');
      const swap = swapOnRead(read);
      await expect(
        runPayloadSign({ ...context(), input: payload, output: out, keys: [PAYLOAD_KEY], trustedKeys: [bs.certificate], sealKey: RELEASE_KEY, openInput: swap.open }),
      ).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
      expect(swap.swappedAt).toBeDefined();
      expect(readdirSync(work)).toEqual(['records']);
    });

    it(`sign --payload: bytes swapped on read ${read} of the signing pass: DIGEST_MISMATCH, nothing written`, async () => {
      const outDir = join(work, 'signed');
      const swap = swapOnRead(read);
      const release = bs.files.filter((f) => f !== payload);
      await expect(
        runSignUpdate({ ...context(), files: release, trustedKeys: [bs.certificate], key: RELEASE_KEY, outDir, armor: false, payloads: [payload], payloadKeys: [PAYLOAD_KEY], openPayloadInput: swap.open }),
      ).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
      expect(swap.swappedAt).toBeDefined();
      expect(existsSync(outDir) ? readdirSync(outDir) : []).toEqual([]);
    });
  }
});

describe('outputs planted between the early check and the write are neither replaced nor followed (item 5)', () => {
  it('sign --out-dir: a symlink planted at NAME.sig while signing: OUTPUT_EXISTS, its target untouched, nothing else left', async () => {
    const outDir = join(work, 'signed');
    const victim = join(work, 'victim');
    writeFileSync(victim, 'precious');
    const release = bs.files.filter((f) => f !== payload);
    const planted = join(outDir, `${release[1]!.split('/').pop()}.sig`);
    const plant = (step: CeremonyStep) => {
      if (step !== 'write-output') return;
      mkdirSync(outDir, { recursive: true });
      symlinkSync(victim, planted);
    };
    await expect(runSignUpdate({ ...context(plant), files: release, trustedKeys: [bs.certificate], key: RELEASE_KEY, outDir, armor: false })).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(lstatSync(planted).isSymbolicLink()).toBe(true);
    expect(readdirSync(outDir)).toEqual([planted.split('/').pop()]);
  });

  it('payload sign --out: a file planted at the output while signing: OUTPUT_EXISTS, the planted file kept', async () => {
    const out = join(work, 'update.signed');
    const plant = (step: CeremonyStep) => {
      if (step === 'sign') writeFileSync(out, 'planted');
    };
    await expect(runPayloadSign({ ...context(plant), input: payload, output: out, keys: [PAYLOAD_KEY], trustedKeys: [bs.certificate], sealKey: RELEASE_KEY })).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
    expect(readFileSync(out, 'utf8')).toBe('planted');
    expect(readdirSync(work).sort()).toEqual(['records', 'update.signed']);
  });
});

describe('no output without a sealed record (item 9)', () => {
  it('payload sign: a seal that fails after the output was written takes the output back', async () => {
    const out = join(work, 'update.signed');
    const failSeal = (step: CeremonyStep) => {
      if (step === 'seal') throw new Error('the seal key is unplugged');
    };
    await expect(runPayloadSign({ ...context(failSeal), input: payload, output: out, keys: [PAYLOAD_KEY], trustedKeys: [bs.certificate], sealKey: RELEASE_KEY })).rejects.toThrow();
    expect(existsSync(out)).toBe(false);
  });

  it('sign --payload: a seal that fails after the outputs were written takes back the payload and the signatures', async () => {
    const outDir = join(work, 'signed');
    const failSeal = (step: CeremonyStep) => {
      if (step === 'seal') throw new Error('the seal key is unplugged');
    };
    const release = bs.files.filter((f) => f !== payload);
    await expect(runSignUpdate({ ...context(failSeal), files: release, trustedKeys: [bs.certificate], key: RELEASE_KEY, outDir, armor: false, payloads: [payload], payloadKeys: [PAYLOAD_KEY] })).rejects.toThrow();
    expect(readdirSync(outDir)).toEqual([]);
  });

  it('payload sign with --key spelled by serial, model, manufacturer and module-path and --seal-key by label: signs and seals', async () => {
    const info = hsm.pkcs11Tool(['--list-token-slots']);
    const serial = /serial num\s*:\s*(\S+)/.exec(info)![1]!;
    const key = parsePkcs11Uri(`pkcs11:serial=${serial};model=SoftHSM%20v2;manufacturer=SoftHSM%20project;object=payload?module-path=${SOFTHSM_MODULE}`);
    const out = join(work, 'update.signed');
    const r = await runPayloadSign({ ...context(), input: payload, output: out, keys: [key], trustedKeys: [bs.certificate], sealKey: parsePkcs11Uri('pkcs11:token=signing;object=release') });
    expect(existsSync(out)).toBe(true);
    const review = await reviewRecord(r.record.dir, {});
    expect(review.findings.filter((f) => f.class !== 'note')).toEqual([]);
  });
});

describe('same token, any spelling of its URI (item 9)', () => {
  it('sign --payload with --key and --payload-key spelled by serial and --seal-key by label: one login, signed and sealed', async () => {
    const serial = /serial num\s*:\s*(\S+)/.exec(hsm.pkcs11Tool(['--list-token-slots']))![1]!;
    const outDir = join(work, 'signed');
    const release = bs.files.filter((f) => f !== payload);
    const logins: CeremonyStep[] = [];
    const r = await runSignUpdate({
      ...context((step) => step === 'hsm-login' && logins.push(step)),
      files: release,
      trustedKeys: [bs.certificate],
      key: parsePkcs11Uri(`pkcs11:serial=${serial};object=release?module-path=${SOFTHSM_MODULE}`),
      sealKey: parsePkcs11Uri('pkcs11:token=signing;object=release'),
      outDir,
      armor: false,
      payloads: [payload],
      payloadKeys: [parsePkcs11Uri(`pkcs11:model=SoftHSM%20v2;serial=${serial};object=payload`)],
    });
    expect(logins).toHaveLength(1);
    expect(readdirSync(outDir).sort()).toEqual([...release.map((f) => `${f.split('/').pop()}.sig`), 'update.unsigned.signed'].sort());
    const review = await reviewRecord(r.record.dir, {});
    expect(review.findings.filter((f) => f.class !== 'note')).toEqual([]);
  });
});

describe('signing an unverified payload is a recorded override (item 10)', () => {
  it('without --trusted-key and without --allow-unverified: refused before anything starts (USAGE, exit 2)', async () => {
    const out = join(work, 'update.signed');
    await expect(runPayloadSign({ ...context(), input: payload, output: out, keys: [PAYLOAD_KEY], sealKey: RELEASE_KEY })).rejects.toMatchObject({ code: 'USAGE' });
    expect(readdirSync(work)).toEqual([]);
  });

  it('with --allow-unverified: signed, the record carries the override, and the audit reviews it as one (not a violation)', async () => {
    const out = join(work, 'update.signed');
    const r = await runPayloadSign({ ...context(), input: payload, output: out, keys: [PAYLOAD_KEY], sealKey: RELEASE_KEY, allowUnverified: true });
    const first = JSON.parse(readFileSync(join(r.record.dir, 'log.jsonl'), 'utf8').split('\n')[0]!) as { parameters: { overrides: string[] } };
    expect(first.parameters.overrides).toContain('allow-unverified');
    const review = await reviewRecord(r.record.dir, {});
    expect(review.verdict).not.toBe('policy-violation');
    expect(review.findings.filter((f) => f.class === 'policy' || f.class === 'tampered')).toEqual([]);
    expect(review.findings.map((f) => f.code)).toContain('unverified-override');
    expect(review.policy.find((c) => c.name === 'inputs-verified-before-signing')?.outcome).toBe('warning');
  });
});
