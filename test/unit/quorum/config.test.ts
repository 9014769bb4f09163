import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLE_CONFIG, loadConfig, parseConfig, stripLineComments } from '../../../ceremony/config.js';
import { isCeremonyError } from '../../../ceremony/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'ceremony-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const example = () => ({
  hsm: { module: '/usr/lib/softhsm/libsofthsm2.so', rootToken: 'root', signingToken: 'signing' },
  identity: { name: 'Example Image Signing Key', email: 'security@example.org' },
  quorum: {
    threshold: 3,
    custodians: [{ name: 'alice', publicKey: 'custodians/alice.asc' }, { name: 'bob' }, { name: 'carol' }, { name: 'dave' }, { name: 'erin' }],
  },
  keys: { subkeyValidityDays: 365, overlapDays: 30, renewWindowDays: 60 },
  trustedBuildKeys: ['keys/build-server.asc'],
});

function write(name: string, content: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

function refusal(raw: unknown): { code: string; message: string; field: unknown } {
  try {
    parseConfig(raw, '/etc/ceremony/config.json');
  } catch (e) {
    if (!isCeremonyError(e)) throw e;
    return { code: e.code, message: e.message, field: e.details?.field };
  }
  throw new Error('accepted');
}

describe('config file', () => {
  test("DESIGN §5's example loads, with paths resolved against the config's folder", () => {
    const c = loadConfig(write('config.json', example()));
    expect(c.path).toBe(join(dir, 'config.json'));
    expect(c.hsm.module).toBe('/usr/lib/softhsm/libsofthsm2.so');
    expect(c.quorum.custodians[0]).toEqual({ name: 'alice', publicKey: join(dir, 'custodians/alice.asc') });
    expect(c.quorum.custodians[1]).toEqual({ name: 'bob' });
    expect(c.trustedBuildKeys).toEqual([join(dir, 'keys/build-server.asc')]);
    expect(c.quorum.threshold).toBe(3);
  });

  test('keys.* default to 365/30/60 days and the module may come from elsewhere', () => {
    const raw = example() as Record<string, unknown>;
    delete raw.keys;
    delete raw.trustedBuildKeys;
    delete (raw.hsm as Record<string, unknown>).module;
    const c = parseConfig(raw, '/x/config.json');
    expect(c.keys).toEqual({ subkeyValidityDays: 365, overlapDays: 30, renewWindowDays: 60 });
    expect(c.trustedBuildKeys).toEqual([]);
    expect(c.hsm.module).toBeUndefined();
    const partial = parseConfig({ ...example(), keys: { overlapDays: 10 } }, '/x/config.json');
    expect(partial.keys).toEqual({ subkeyValidityDays: 365, overlapDays: 10, renewWindowDays: 60 });
  });

  test.each<[string, (c: ReturnType<typeof example>) => unknown, string]>([
    ['threshold above n', (c) => ((c.quorum.threshold = 6), c), 'quorum.threshold'],
    ['threshold 0', (c) => ((c.quorum.threshold = 0), c), 'quorum.threshold'],
    ['threshold 1 without allowThresholdOne', (c) => ((c.quorum.threshold = 1), c), 'quorum.threshold'],
    ['threshold not whole', (c) => ((c.quorum.threshold = 2.5), c), 'quorum.threshold'],
    ['threshold a string', (c) => ((c.quorum as Record<string, unknown>).threshold = '3', c), 'quorum.threshold'],
    ['repeated custodian (case-insensitive)', (c) => ((c.quorum.custodians[3]!.name = 'Bob'), c), 'quorum.custodians[3].name'],
    ['custodian name that escapes the shares folder', (c) => ((c.quorum.custodians[1]!.name = '../bob'), c), 'quorum.custodians[1].name'],
    ['custodian name with a slash', (c) => ((c.quorum.custodians[1]!.name = 'a/b'), c), 'quorum.custodians[1].name'],
    ['no custodians', (c) => ((c.quorum.custodians = []), c), 'quorum.custodians'],
    ['misspelt field', (c) => ({ ...c, quorum: { treshold: 3, threshold: 3, custodians: c.quorum.custodians } }), 'quorum'],
    ['misspelt field alone (threshold then missing)', (c) => ({ ...c, quorum: { treshold: 3, custodians: c.quorum.custodians } }), 'quorum'],
    ['missing identity email', (c) => ({ ...c, identity: { name: 'x' } }), 'identity.email'],
    ['user ID with angle brackets', (c) => ((c.identity.name = 'Evil <x@y>'), c), 'identity.name'],
    ['token label over 32 bytes', (c) => ((c.hsm.rootToken = 'r'.repeat(33)), c), 'hsm.rootToken'],
    ['root and signing token the same', (c) => ((c.hsm.rootToken = 'signing'), c), 'hsm.rootToken'],
    ['negative validity', (c) => ((c.keys.subkeyValidityDays = -1), c), 'keys.subkeyValidityDays'],
    ['missing hsm', (c) => ({ ...c, hsm: undefined }), 'hsm'],
    ['a list at the top', () => [], 'the top level'],
  ])('refuses %s with CONFIG_INVALID naming the field', (_name, mutate, field) => {
    const r = refusal(mutate(example()));
    expect(r.code).toBe('CONFIG_INVALID');
    expect(r.field).toBe(field);
    expect(r.message).toContain(`/etc/ceremony/config.json: ${field} `);
  });

  test('messages say what is wrong in words a person understands', () => {
    expect(refusal({ ...example(), quorum: { ...example().quorum, threshold: 0 } }).message).toMatch(/quorum\.threshold must be at least 1$/);
    expect(refusal({ ...example(), keys: { subkeyValidityDays: 0 } }).message).toMatch(/keys\.subkeyValidityDays must be between 1 and 3660 days$/);
    expect(refusal({ ...example(), quorum: { ...example().quorum, threshold: 9 } }).message).toMatch(/is 9, more than the 5 custodians listed: /);
    expect(refusal({ ...example(), hsmm: {} }).message).toMatch(/has an unknown field 'hsmm' \(did you mean 'hsm'\?\)/);
    // the misspelling is named, not the field it left missing
    expect(refusal({ ...example(), quorum: { treshold: 3, custodians: example().quorum.custodians } }).message).toMatch(/quorum has an unknown field 'treshold' \(did you mean 'threshold'\?\)/);
    expect(refusal({ ...example(), quorum: { ...example().quorum, threshold: 1 } }).message).toMatch(/any one custodian alone could unlock the root key/);
    expect(refusal({ ...example(), quorum: { ...example().quorum, threshold: 6 } }).message).toMatch(/a quorum of 6 needs at least 6 custodians$/);
    const dup = example();
    dup.quorum.custodians[2]!.name = 'ALICE';
    expect(refusal(dup).message).toMatch(/"ALICE" is listed twice \(also quorum\.custodians\[0\]\.name\): each custodian holds one share/);
  });

  test('a threshold of 1 is accepted only when allowThresholdOne says so', () => {
    const c = parseConfig({ ...example(), quorum: { ...example().quorum, threshold: 1, allowThresholdOne: true } }, '/x/config.json');
    expect(c.quorum.threshold).toBe(1);
  });

  test('ceremony config example loads as it is printed (comments and all), and names every field the README documents', () => {
    const c = loadConfig(write('example.json', EXAMPLE_CONFIG));
    expect(c.quorum.threshold).toBe(3);
    expect(c.quorum.custodians.map((x) => x.name)).toEqual(['alice', 'bob', 'carol', 'dave', 'erin']);
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    for (const field of ['hsm.module', 'hsm.rootToken', 'hsm.signingToken', 'identity.name', 'identity.email', 'quorum.threshold', 'quorum.allowThresholdOne', 'quorum.custodians', 'quorum.custodians[].publicKey', 'keys.subkeyValidityDays', 'keys.overlapDays', 'keys.renewWindowDays', 'trustedBuildKeys']) {
      expect(readme, field).toContain(`\`${field}\``);
    }
    // a "//" inside a string is not a comment
    expect(stripLineComments('{"a": "x//y"} // note')).toBe('{"a": "x//y"}        ');
  });

  test('more than 64 custodians is refused', () => {
    const c = example();
    c.quorum.custodians = Array.from({ length: 65 }, (_, i) => ({ name: `c${i}` }));
    expect(refusal(c).field).toBe('quorum.custodians');
  });

  test('a file that is not JSON is CONFIG_INVALID; a missing file is INPUT_UNREADABLE (both exit 2)', () => {
    expect(() => loadConfig(write('bad.json', '{"hsm":'))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', exitCode: 2 }));
    expect(() => loadConfig(join(dir, 'nope.json'))).toThrow(expect.objectContaining({ code: 'INPUT_UNREADABLE', exitCode: 2 }));
  });
});
