import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { CeremonyRecord, compactUtc } from '../../../ceremony/audit/record.js';
import { GENESIS_PREV, ceremonyEventSchema, type EventInput } from '../../../ceremony/audit/events.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { makeOpenpgpSealer, type TestSealer } from '../../helpers/openpgp-sealer.js';
import { steppingClock } from '../../helpers/audit-records.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

const params = {
  command: 'ceremony sign',
  options: [{ name: 'key' as const, value: 'pkcs11:token=signing;object=k' }],
  toolVersion: '0.1.0',
  host: { airGapped: true, interfacesUp: [], overridden: false },
  overrides: [] as 'allow-network'[],
};

let sealer: TestSealer;
const work = tempDirs('audit-record-');
beforeAll(async () => {
  sealer = await makeOpenpgpSealer();
});

const lines = (dir: string) => readFileSync(join(dir, 'log.jsonl'), 'utf8').trimEnd().split('\n');

describe('CeremonyRecord (writer)', () => {
  it('names the folder <UTC time>-<kind>-<short id> so records sort by time, and never reuses one', () => {
    const w = work();
    const now = () => new Date('2026-11-22T01:30:00.123Z');
    const a = CeremonyRecord.create({ recordDir: w, kind: 'sign', parameters: params, attended: true, now });
    const b = CeremonyRecord.create({ recordDir: w, kind: 'sign', parameters: params, attended: true, now });
    expect(basename(a.dir)).toBe(`20261122T013000Z-sign-${a.id.slice(0, 8)}`);
    expect(a.dir).not.toBe(b.dir);
    expect(compactUtc(new Date('2026-01-02T03:04:05Z'))).toBe('20260102T030405Z');
    a.close();
    b.close();
  });

  it('writes a hash chain: line 1 commits to the parameters with prev = 64 zeros, each prev = SHA-256 of the previous line', () => {
    const w = work();
    const r = CeremonyRecord.create({ recordDir: w, kind: 'sign', parameters: params, attended: false, now: steppingClock() });
    r.append({ step: 'air-gap-check', detail: 'no interface up' });
    r.append({ step: 'verify-input', detail: 'ok', inputs: [{ name: 'a', sha256: 'ab'.repeat(32), size: 3 }] });
    const ls = lines(r.dir);
    expect(ls).toHaveLength(3);
    const evs = ls.map((l) => ceremonyEventSchema.parse(JSON.parse(l)));
    expect(evs[0]!.prev).toBe(GENESIS_PREV);
    expect(evs[0]!.step).toBe('ceremony-start');
    expect(evs[0]!.parameters?.attended).toBe(false);
    expect(evs[0]!.parameters?.command).toBe('ceremony sign');
    expect(evs.map((e) => e.seq)).toEqual([1, 2, 3]);
    for (let i = 1; i < ls.length; i++) expect(evs[i]!.prev).toBe(createHash('sha256').update(ls[i - 1]!).digest('hex'));
    expect(new Set(evs.map((e) => e.ceremony))).toEqual(new Set([r.id]));
    r.close();
  });

  it('each append is on disk when it returns (a reader sees the line at once)', () => {
    const w = work();
    const r = CeremonyRecord.create({ recordDir: w, kind: 'init', parameters: { ...params, command: 'ceremony init' }, attended: true });
    for (let i = 0; i < 5; i++) {
      r.append({ step: 'generate-key', detail: `key ${i}` });
      expect(lines(r.dir)).toHaveLength(i + 2);
    }
    r.close();
  });

  it('refuses a free-form field smuggled into an event (a PIN cannot ride along)', () => {
    const w = work();
    const r = CeremonyRecord.create({ recordDir: w, kind: 'sign', parameters: params, attended: true });
    const smuggled = { step: 'hsm-login', detail: 'logged in', pin: '123456' } as unknown as EventInput;
    expect(() => r.append(smuggled)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    const nested = { step: 'select-key', detail: 'k', key: { uri: 'pkcs11:token=t', pin: '123456' } } as unknown as EventInput;
    expect(() => r.append(nested)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    expect(readFileSync(join(r.dir, 'log.jsonl'), 'utf8')).not.toContain('123456');
    expect(lines(r.dir)).toHaveLength(1);
    r.close();
  });

  it('refuses a key URI carrying pin-value and an option that is not on the recordable list', () => {
    const w = work();
    const r = CeremonyRecord.create({ recordDir: w, kind: 'sign', parameters: params, attended: true });
    expect(() => r.append({ step: 'select-key', detail: 'k', key: { uri: 'pkcs11:token=t?pin-value=123456' } })).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    r.close();
    const bad = { ...params, options: [{ name: 'pin', value: '123456' }] } as unknown as typeof params;
    expect(() => CeremonyRecord.create({ recordDir: w, kind: 'sign', parameters: bad, attended: true })).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    expect(readdirSync(w)).toHaveLength(1); // the refused ceremony made no record folder
  });

  it('refuses to put a private key into keys/', async () => {
    const w = work();
    const r = CeremonyRecord.create({ recordDir: w, kind: 'sign', parameters: params, attended: true });
    const armoredPrivate = (await import('openpgp')).armor(5 /* secret key */, new Uint8Array([1, 2, 3]));
    expect(() => r.addKey('leak', armoredPrivate)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    expect(r.addKey('seal', sealer.certificateArmored)).toBe(join(r.dir, 'keys', 'seal.asc'));
    r.close();
  });

  it('records a failure with its error code and sentence, and ends the record as failed', async () => {
    const w = work();
    const r = CeremonyRecord.create({ recordDir: w, kind: 'sign', parameters: params, attended: true, now: steppingClock() });
    const { CeremonyError } = await import('../../../ceremony/errors.js');
    r.fail('verify-input', new CeremonyError('DIGEST_MISMATCH', 'the SHA512 of a.bin does not match its DIGESTS'));
    expect(r.failedStep).toBe('verify-input');
    await r.seal(sealer);
    const evs = lines(r.dir).map((l) => JSON.parse(l) as { step: string; result: string; code?: string });
    expect(evs[1]).toMatchObject({ step: 'verify-input', result: 'failed', code: 'DIGEST_MISMATCH' });
    expect(evs.at(-1)).toMatchObject({ step: 'ceremony-end', result: 'failed' });
  });

  it('seal writes manifest.json, binds it and keys/ by hash in the seal event, then log.jsonl.asc', async () => {
    const w = work();
    const r = CeremonyRecord.create({ recordDir: w, kind: 'sign', parameters: params, attended: true, now: steppingClock() });
    const sealed = await r.seal(sealer);
    expect(existsSync(join(r.dir, 'log.jsonl.asc'))).toBe(true);
    const manifestBytes = readFileSync(join(r.dir, 'manifest.json'));
    const evs = lines(r.dir).map((l) => JSON.parse(l) as { step: string; outputs?: { name: string; sha256: string }[] });
    expect(evs.map((e) => e.step)).toEqual(['ceremony-start', 'seal', 'ceremony-end']);
    expect(evs[1]!.outputs).toContainEqual(expect.objectContaining({ name: 'manifest.json', sha256: createHash('sha256').update(manifestBytes).digest('hex') }));
    expect(evs[1]!.outputs!.some((o) => o.name.startsWith('keys/seal-'))).toBe(true);
    expect(sealed.logSha256).toBe(createHash('sha256').update(readFileSync(join(r.dir, 'log.jsonl'))).digest('hex'));
    expect(() => r.append({ step: 'sign', detail: 'late' })).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });

  it('a seal key that fails leaves an ended but unsealed log, not a broken one', async () => {
    const w = work();
    const r = CeremonyRecord.create({ recordDir: w, kind: 'sign', parameters: params, attended: true });
    const failing = { ...sealer, sign: () => Promise.reject(new Error('token removed')) };
    await expect(r.seal(failing)).rejects.toSatisfy((e: unknown) => isCeremonyError(e, 'HSM_FAILURE'));
    expect(existsSync(join(r.dir, 'log.jsonl.asc'))).toBe(false);
    expect(lines(r.dir).at(-1)).toContain('"ceremony-end"');
  });
});
