/**
 * A payload the signing pass would refuse (already signed, or malformed: an operation whose data lies
 * beyond the end of the file) is refused at 'verify-input', before the person is asked to confirm the
 * plan and before any signing login, and, in a release ceremony, before any release file is signed.
 * Before this, the person confirmed and logged in first, and `sign --payload` made the release
 * signatures only to take them back. On a real SoftHSM token, with the build server's signature valid
 * where one is given: the server signs what its build made, malformed or not.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePkcs11Uri } from '../../../ceremony/hsm/uri.js';
import { runPayloadSign } from '../../../ceremony/ceremonies/payload-sign.js';
import { runSignUpdate } from '../../../ceremony/ceremonies/sign-update.js';
import { makeDemoBuildServer, type DemoBuildServer } from '../../../ceremony/release/demo-build-server.js';
import { reviewRecord } from '../../../ceremony/audit/review.js';
import type { CeremonyContext } from '../../../ceremony/ceremonies/runner.js';
import { makePayloadFixture, RELEASE_AND_PAYLOAD_KEYS, type PayloadFixture } from './fixture.js';

const PIN = 'payload-unsignable-1';
const SEAL_KEY = parsePkcs11Uri('pkcs11:token=signing;object=release');
const PAYLOAD_KEY = parsePkcs11Uri('pkcs11:token=signing;object=payload');
let f: PayloadFixture;
/** The fixture's payload, signed once (by an unverified run of the ceremony itself). */
let signed: string;
/** The first 4 KiB of the fixture's payload: its header and manifest parse, its operation lies past the end. */
let truncated: DemoBuildServer;
let work: string;
let n = 0;
/** How often the person was asked to confirm a plan in the current test. */
let asked = 0;

beforeAll(async () => {
  f = await makePayloadFixture({ prefix: 'payload-unsignable-', pin: PIN, keys: { signing: [...RELEASE_AND_PAYLOAD_KEYS] }, payloadBytes: 256 * 1024 });
  const first = join(f.hsm.dir, 'first');
  mkdirSync(first);
  signed = join(first, 'update.signed');
  await runPayloadSign({ ...f.context(join(first, 'records')), input: f.payload, output: signed, keys: [PAYLOAD_KEY], allowUnverified: true, sealKey: SEAL_KEY });
  // A build server that signed (with valid signatures and DIGESTS) a payload cut short.
  const inbox = join(f.hsm.dir, 'inbox-truncated');
  mkdirSync(inbox);
  writeFileSync(join(inbox, 'update.unsigned'), readFileSync(f.payload).subarray(0, 4096));
  truncated = await makeDemoBuildServer(inbox, { rsaBits: 2048, alsoSign: ['update.unsigned'] });
}, 180_000);

afterAll(() => f?.cleanup());

beforeEach(() => {
  work = join(f.hsm.dir, `run-${++n}`);
  mkdirSync(work);
  asked = 0;
});

/** An attended run whose person would confirm any plan (and is counted). */
function context(): CeremonyContext {
  return f.context(join(work, 'records'), { attended: true, confirmSigning: async () => (asked++, true) });
}

/** The steps of the one record in `work/records`, with their results, and its review verdict. */
async function recorded(): Promise<{ steps: string[]; verdict: string; refusal?: { step: string; code?: string } }> {
  const [dir] = readdirSync(join(work, 'records'));
  const lines = readFileSync(join(work, 'records', dir!, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: string; result: string });
  const review = await reviewRecord(join(work, 'records', dir!));
  return { steps: lines.map((l) => `${l.step}:${l.result}`), verdict: review.verdict, refusal: review.refusal };
}

/** Nothing after the input check: no plan shown, no login, no signature. */
function expectStoppedAtInput(steps: string[]): void {
  expect(steps).toContain('verify-input:failed');
  for (const s of steps) expect(s).not.toMatch(/^(confirm|hsm-login|select-key|sign|write-output):/);
}

describe('payload sign', () => {
  it('an already-signed payload, unverified run: PAYLOAD_ALREADY_SIGNED before the plan is shown or any login', async () => {
    const out = join(work, 'again.signed');
    await expect(runPayloadSign({ ...context(), input: signed, output: out, keys: [PAYLOAD_KEY], allowUnverified: true, sealKey: SEAL_KEY })).rejects.toMatchObject({ code: 'PAYLOAD_ALREADY_SIGNED' });
    expect(asked).toBe(0);
    expect(readdirSync(work)).toEqual(['records']);
    const r = await recorded();
    expectStoppedAtInput(r.steps);
    expect(r.steps).toContain('verify-input:override');
    expect(r.verdict).toBe('refused');
    expect(r.refusal).toMatchObject({ step: 'verify-input', code: 'PAYLOAD_ALREADY_SIGNED' });
  });

  it('a malformed payload whose server signature verifies: PAYLOAD_MALFORMED before the plan is shown or any login', async () => {
    const out = join(work, 'update.signed');
    const input = join(truncated.dir, 'update.unsigned');
    await expect(runPayloadSign({ ...context(), input, output: out, keys: [PAYLOAD_KEY], trustedKeys: [truncated.certificate], sealKey: SEAL_KEY })).rejects.toMatchObject({ code: 'PAYLOAD_MALFORMED' });
    expect(asked).toBe(0);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work)).toEqual(['records']);
    const r = await recorded();
    // The server signature verified; the structure did not.
    expect(r.steps).toContain('verify-input:ok');
    expectStoppedAtInput(r.steps);
    expect(r.refusal).toMatchObject({ step: 'verify-input', code: 'PAYLOAD_MALFORMED' });
  });

  it('a payload that can be signed is still shown, confirmed and signed', async () => {
    const out = join(work, 'update.signed');
    await runPayloadSign({ ...context(), input: f.payload, output: out, keys: [PAYLOAD_KEY], trustedKeys: [f.bs.certificate], sealKey: SEAL_KEY });
    expect(asked).toBe(1);
    expect(readFileSync(out).equals(readFileSync(signed))).toBe(true);
    expect((await recorded()).verdict).toBe('intact');
  });
});

describe('sign --payload', () => {
  it('a malformed payload among verified release files: refused before the plan, no release file signed', async () => {
    const outDir = join(work, 'signed');
    await expect(
      runSignUpdate({
        ...context(),
        files: truncated.files.filter((file) => !file.endsWith('update.unsigned')),
        trustedKeys: [truncated.certificate],
        key: SEAL_KEY,
        outDir,
        armor: false,
        payloads: [join(truncated.dir, 'update.unsigned')],
        payloadKeys: [PAYLOAD_KEY],
      }),
    ).rejects.toMatchObject({ code: 'PAYLOAD_MALFORMED' });
    expect(asked).toBe(0);
    expect(existsSync(outDir) ? readdirSync(outDir) : []).toEqual([]);
    const r = await recorded();
    expectStoppedAtInput(r.steps);
    expect(r.refusal).toMatchObject({ step: 'verify-input', code: 'PAYLOAD_MALFORMED' });
  });

  it('an already-signed payload: PAYLOAD_ALREADY_SIGNED before the plan, no release file signed', async () => {
    // The signed payload, with the fixture build server's signature and DIGESTS made for it.
    const inbox = join(work, 'inbox');
    mkdirSync(inbox);
    writeFileSync(join(inbox, 'update.signed'), readFileSync(signed));
    const bs = await makeDemoBuildServer(inbox, { rsaBits: 2048, alsoSign: ['update.signed'] });
    const outDir = join(work, 'signed');
    await expect(
      runSignUpdate({
        ...context(),
        files: bs.files.filter((file) => !file.endsWith('update.signed')),
        trustedKeys: [bs.certificate],
        key: SEAL_KEY,
        outDir,
        armor: false,
        payloads: [join(inbox, 'update.signed')],
        payloadKeys: [PAYLOAD_KEY],
      }),
    ).rejects.toMatchObject({ code: 'PAYLOAD_ALREADY_SIGNED' });
    expect(asked).toBe(0);
    expect(existsSync(outDir) ? readdirSync(outDir) : []).toEqual([]);
    expectStoppedAtInput((await recorded()).steps);
  });
});
