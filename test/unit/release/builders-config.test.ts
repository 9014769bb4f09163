/** The config's `builders` and `provenance` sections (issue 15): validated at the edge, errors naming the field. */
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../ceremony/config.js';
import { loadProvenanceKey } from '../../../ceremony/provenance/policy.js';

const base = { hsm: { rootToken: 'root', signingToken: 'signing' }, identity: { name: 'Example', email: 'security@example.org' }, quorum: { threshold: 2, custodians: [{ name: 'alice' }, { name: 'bob' }] } };
const builders = (threshold: number, names = ['alpha', 'beta']) => ({ threshold, members: names.map((name) => ({ name, certificates: [`keys/${name}.asc`] })) });
const provenance = { builderIds: ['https://b/1'], buildTypes: ['https://t/1'], source: { repository: 'https://github.com/x/y', refPattern: 'refs/tags/.+' } };

function fails(extra: object): { code: string; message: string } {
  try {
    parseConfig({ ...base, ...extra }, '/etc/ceremony/config.json');
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('accepted');
}

describe('builders section', () => {
  it('resolves certificate paths against the config folder', () => {
    const c = parseConfig({ ...base, builders: builders(2) }, '/etc/ceremony/config.json');
    expect(c.builders).toEqual({ threshold: 2, members: [{ name: 'alpha', certificates: ['/etc/ceremony/keys/alpha.asc'] }, { name: 'beta', certificates: ['/etc/ceremony/keys/beta.asc'] }] });
  });
  it('refuses a threshold above the number of builders', () => {
    expect(fails({ builders: builders(3) })).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('builders.threshold') });
  });
  it('refuses one builder listed twice (it would count twice)', () => {
    expect(fails({ builders: builders(2, ['alpha', 'alpha']) }).message).toContain('builders.members[1].name');
  });
  it('refuses a builder name that is not a plain file-name part', () => {
    expect(fails({ builders: builders(1, ['../x']) }).code).toBe('CONFIG_INVALID');
  });
  it('refuses unknown fields', () => {
    expect(fails({ builders: { ...builders(1), treshold: 1 } }).message).toContain('treshold');
  });
});

describe('provenance section', () => {
  it('is accepted with defaults', () => {
    const c = parseConfig({ ...base, provenance: { ...provenance, keys: ['k.pem'] } }, '/etc/ceremony/config.json');
    expect(c.provenance).toMatchObject({ keys: ['/etc/ceremony/k.pem'], source: { parameter: 'workflow' }, requiredDependencies: [], allowedExternalParameters: [] });
  });
  it('refuses a ref pattern that is not a regular expression', () => {
    expect(fails({ provenance: { ...provenance, source: { ...provenance.source, refPattern: '(' } } }).message).toContain('provenance.source.refPattern');
  });
  it('refuses provenance keys other than ed25519, ECDSA P-256 or RSA >= 2048', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prov-keys-'));
    const write = (name: string, k: { publicKey: { export(o: object): string | Buffer } }) => {
      const p = join(dir, name);
      writeFileSync(p, k.publicKey.export({ type: 'spki', format: 'pem' }));
      return p;
    };
    expect(() => loadProvenanceKey(write('p384.pem', generateKeyPairSync('ec', { namedCurve: 'secp384r1' })))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => loadProvenanceKey(write('rsa1024.pem', generateKeyPairSync('rsa', { modulusLength: 1024 })))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(loadProvenanceKey(write('ed.pem', generateKeyPairSync('ed25519'))).hash).toBeUndefined();
  });
});
