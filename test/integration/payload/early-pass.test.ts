/**
 * The payload ceremony starts its signing pass before its gates (ceremony/ceremonies/payload-start.ts): the
 * record, the person's confirmation, the login, the keys' validity. On a real SoftHSM token: the pass's key
 * sizes come from the public objects, which a session without a PIN may replace; whatever gate then stops
 * the ceremony, nothing is left beside the output (no temp file, no output), nothing is signed, and the
 * record says which gate stopped it. A run that passes every gate gives the payload and record it gave
 * before the pass moved.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SOFTHSM_MODULE } from '../../helpers/softhsm.js';
import { runCeremony } from '../../helpers/cli.js';
import { makeDemoBuildServer } from '../../../ceremony/release/demo-build-server.js';
import { openModule } from '../../../ceremony/hsm/module.js';
import { parsePkcs11Uri } from '../../../ceremony/hsm/uri.js';
import { runPayloadSign } from '../../../ceremony/ceremonies/payload-sign.js';
import { guessSignatureSizes, startPayloadSign } from '../../../ceremony/ceremonies/payload-start.js';
import { TokenSession } from '../../../ceremony/hsm/token.js';
import { findHandles, readAttrs } from '../../../ceremony/hsm/objects.js';
import { pkcs11 } from '../../../ceremony/hsm/native.js';
import type { CeremonyContext } from '../../../ceremony/ceremonies/runner.js';
import { openPayloadSource, type OpenPayloadSource } from '../../../ceremony/payload/format.js';
import { reviewRecord } from '../../../ceremony/audit/review.js';
import { makePayloadFixture, RELEASE_AND_PAYLOAD_KEYS, type PayloadFixture } from './fixture.js';

const PIN = 'payload-early-1';
const ATTACKER = join(__dirname, '../../helpers/pkcs11-attacker.mjs');
const SEAL_KEY = parsePkcs11Uri('pkcs11:token=signing;object=release');
const PAYLOAD_KEY = parsePkcs11Uri('pkcs11:token=signing;object=payload');
let f: PayloadFixture;
let payload: string;
let work: string;
let n = 0;

beforeAll(async () => {
  f = await makePayloadFixture({
    prefix: 'payload-early-',
    pin: PIN,
    keys: {
      signing: [
        ...RELEASE_AND_PAYLOAD_KEYS,
        ['--label', 'payload-big', '--bits', '4096', '--valid-days', '30'],
        ['--label', 'victim', '--bits', '2048', '--valid-days', '30'],
      ],
    },
    payloadBytes: 9 * 1024 * 1024 + 11,
  });
  payload = f.payload;
}, 180_000);

afterAll(() => f?.cleanup());

beforeEach(() => {
  work = join(f.hsm.dir, `run-${++n}`);
  mkdirSync(work);
});

function context(over: Partial<CeremonyContext> = {}): CeremonyContext {
  return f.context(join(work, 'records'), over);
}

/**
 * The payload as the pass reads it, with two moments to wait for: its first blob read (the temp file
 * exists by then) and its close (by then a stopped pass has removed its temp file, and a pass that
 * nobody stopped has finished and left it).
 */
function watchedSource(): { open: OpenPayloadSource; reading: Promise<void>; closed: Promise<void> } {
  let reading!: () => void;
  let closed!: () => void;
  const r = new Promise<void>((res) => (reading = res));
  const c = new Promise<void>((res) => (closed = res));
  let reads = 0;
  return {
    reading: r,
    closed: c,
    open: async (path, what) => {
      const real = await openPayloadSource(path, what);
      return {
        size: real.size,
        async read(buffer, offset, length, position) {
          if (++reads === 3) reading();
          return real.read(buffer, offset, length, position);
        },
        async close() {
          await real.close();
          closed();
        },
      };
    },
  };
}

/** The steps of the one record in `work/records`, with their results, and its review verdict. */
async function recorded(): Promise<{ steps: string[]; verdict: string }> {
  const [dir] = readdirSync(join(work, 'records'));
  const lines = readFileSync(join(work, 'records', dir!, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: string; result: string });
  const review = await reviewRecord(join(work, 'records', dir!));
  return { steps: lines.map((l) => `${l.step}:${l.result}`), verdict: review.verdict };
}

describe('the key sizes, read without a PIN', () => {
  it('are the moduli of the keys\' public objects, in signature order; undefined when a key cannot be found by them', () => {
    const mod = openModule(SOFTHSM_MODULE);
    expect(guessSignatureSizes(mod, [PAYLOAD_KEY])).toEqual([256]);
    expect(guessSignatureSizes(mod, [parsePkcs11Uri('pkcs11:token=signing;object=payload-big'), PAYLOAD_KEY])).toEqual([512, 256]);
    expect(guessSignatureSizes(mod, [parsePkcs11Uri('pkcs11:token=signing;object=nothing-here')])).toBeUndefined();
    expect(guessSignatureSizes(mod, [parsePkcs11Uri('pkcs11:token=elsewhere;object=payload')])).toBeUndefined();
    expect(guessSignatureSizes(mod, [parsePkcs11Uri('pkcs11:token=signing')])).toBeUndefined();
  });

  it('a key named by its CKA_ID alone is found by it; a label and an ID that name no one object give no guess', () => {
    const mod = openModule(SOFTHSM_MODULE);
    const ts = TokenSession.open(mod, PAYLOAD_KEY, false);
    let id: Buffer;
    try {
      const [pub] = findHandles(ts, [
        { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY },
        { type: pkcs11.CKA_LABEL, value: 'payload' },
      ]);
      id = readAttrs(ts, pub!, [pkcs11.CKA_ID]).get(pkcs11.CKA_ID)!;
    } finally {
      ts.close();
    }
    expect(id.length).toBeGreaterThan(0);
    expect(guessSignatureSizes(mod, [{ token: 'signing', id }])).toEqual([256]);
    expect(guessSignatureSizes(mod, [{ token: 'signing', object: 'payload', id: Buffer.from('not-its-id') }])).toBeUndefined();
  });

  it('starts the pass with the guessed sizes; the record is sealed by --seal-key, else by the first payload key', async () => {
    const base = { input: payload, keys: [PAYLOAD_KEY], allowUnverified: true, module: SOFTHSM_MODULE, env: process.env };
    const unsealed = startPayloadSign({ ...base, output: join(work, 'a.signed') });
    const sealed = startPayloadSign({ ...base, output: join(work, 'b.signed'), sealKey: SEAL_KEY });
    try {
      expect(unsealed.sealUri).toEqual(PAYLOAD_KEY);
      expect(sealed.sealUri).toEqual(SEAL_KEY);
      expect(unsealed.pending?.signatureSizes).toEqual([256]);
    } finally {
      await unsealed.pending?.abandon();
      await sealed.pending?.abandon();
    }
    expect(readdirSync(work)).toEqual([]);
  });
});

describe('a gate that stops the ceremony after its pass started leaves nothing beside the output', () => {
  it('the person declines the plan: refused, no temp file and no output, the token never asked to sign', async () => {
    const out = join(work, 'update.signed');
    const src = watchedSource();
    let asked = 0;
    // The person answers while the pass is writing its temp file.
    const decline = async () => (asked++, await src.reading, expect(readdirSync(work).some((f) => f.endsWith('.partial'))).toBe(true), false);
    await expect(
      runPayloadSign({ ...context({ attended: true, confirmSigning: decline }), input: payload, output: out, keys: [PAYLOAD_KEY], allowUnverified: true, sealKey: SEAL_KEY, openInput: src.open }),
    ).rejects.toMatchObject({ code: 'NOT_CONFIRMED' });
    expect(asked).toBe(1);
    await src.closed;
    expect(readdirSync(work)).toEqual(['records']);
    const r = await recorded();
    expect(r.steps).not.toContain('sign:ok');
    expect(r.steps.some((s) => s.startsWith('confirm:'))).toBe(true);
  });

  it('a wrong PIN: PIN_INCORRECT, no temp file and no output', async () => {
    const out = join(work, 'update.signed');
    const src = watchedSource();
    await expect(
      runPayloadSign({ ...context({ env: { ...f.hsm.env, CEREMONY_PIN: 'not-the-pin' } }), input: payload, output: out, keys: [PAYLOAD_KEY], allowUnverified: true, sealKey: SEAL_KEY, openInput: src.open }),
    ).rejects.toMatchObject({ code: 'PIN_INCORRECT' });
    await src.closed;
    expect(readdirSync(work).filter((f) => f !== 'records')).toEqual([]);
  });

  it('the build server signature does not verify (another pinned key): refused, no temp file and no output', async () => {
    const other = await makeDemoBuildServer(join(work, 'other'), { rsaBits: 2048 });
    const out = join(work, 'update.signed');
    const src = watchedSource();
    await expect(
      runPayloadSign({ ...context(), input: payload, output: out, keys: [PAYLOAD_KEY], trustedKeys: [other.certificate], sealKey: SEAL_KEY, openInput: src.open }),
    ).rejects.toMatchObject({ exitCode: 1 });
    await src.closed;
    expect(readdirSync(work).filter((f) => f !== 'records' && f !== 'other')).toEqual([]);
    expect((await recorded()).steps).toContain('verify-input:refused');
  });

  it('a look-alike public half claiming a 4096-bit key, made without a PIN: the pass started at 512 bytes is thrown away and the key refused as tampered', async () => {
    const lie = JSON.parse(execFileSync(process.execPath, [ATTACKER, SOFTHSM_MODULE, 'signing', 'replace-public', 'victim', 'bits', '4096'], { env: f.hsm.env, encoding: 'utf8' }).trim()) as { ok: boolean };
    expect(lie.ok).toBe(true);
    const victim = parsePkcs11Uri('pkcs11:token=signing;object=victim');
    // The lie is what a session without a PIN sees: the pass starts with it.
    expect(guessSignatureSizes(openModule(SOFTHSM_MODULE), [victim])).toEqual([512]);
    const out = join(work, 'update.signed');
    const src = watchedSource();
    await expect(
      runPayloadSign({ ...context(), input: payload, output: out, keys: [victim], allowUnverified: true, sealKey: SEAL_KEY, openInput: src.open }),
    ).rejects.toMatchObject({ code: 'TOKEN_TAMPERED' });
    await src.closed;
    expect(readdirSync(work)).toEqual(['records']);
    expect((await recorded()).steps).toContain('select-key:failed');
  });
});

describe('a run through every gate', () => {
  it('signs what update_engine accepts, records the steps in their order, and reviews intact', async () => {
    const out = join(work, 'update.signed');
    const r = await runPayloadSign({ ...context(), input: payload, output: out, keys: [PAYLOAD_KEY], trustedKeys: [f.bs.certificate], sealKey: SEAL_KEY });
    expect(readdirSync(work).sort()).toEqual(['records', 'update.signed']);
    const v = runCeremony(['payload', 'verify', '--public-key', exportKey('payload'), out], { env: f.hsm.env });
    expect(v.code, v.stderr).toBe(0);
    expect(r.payload.signatures).toEqual([expect.objectContaining({ version: 2, bytes: 256 })]);
    const rec = await recorded();
    const order = rec.steps.map((s) => s.split(':')[0]);
    expect(order.indexOf('verify-input')).toBeLessThan(order.indexOf('hsm-login'));
    expect(order.indexOf('confirm')).toBeLessThan(order.indexOf('hsm-login'));
    expect(order.indexOf('select-key')).toBeLessThan(order.indexOf('sign'));
    expect(rec.verdict).toMatch(/^intact/);
  });
});

function exportKey(label: string): string {
  const pem = join(work, `${label}.pub.pem`);
  const r = runCeremony(['key', 'export', '--key', `pkcs11:token=signing;object=${label}`, '--out', pem], { env: { ...f.hsm.env, CEREMONY_PIN: PIN } });
  expect(r.code, r.stderr).toBe(0);
  return pem;
}
