/**
 * What the payload ceremony refuses before anything starts (ceremony/ceremonies/payload-start.ts): no key, no
 * rule for the server signature, two that contradict each other, a revoker without the certificate it
 * revokes for, an input that is not a regular file, an output that exists. Each refusal is checked to come
 * first: the options name a PKCS#11 module that does not exist, so a run that got past the refusal would
 * stop at the module with MODULE_NOT_FOUND instead.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPayloadSign, type PayloadSignStartOptions } from '../../../ceremony/ceremonies/payload-start.js';
import { parsePkcs11Uri } from '../../../ceremony/hsm/uri.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'payload-start-'));
  writeFileSync(join(dir, 'update.unsigned'), 'CrAU');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function options(over: Partial<PayloadSignStartOptions> = {}): PayloadSignStartOptions {
  return {
    input: join(dir, 'update.unsigned'),
    output: join(dir, 'update.signed'),
    keys: [parsePkcs11Uri('pkcs11:token=signing;object=payload')],
    allowUnverified: true,
    module: join(dir, 'no-such-module.so'),
    env: {},
    ...over,
  };
}

describe('refused before the module, the threads or the pass start (USAGE, exit 2)', () => {
  it.each<[string, Partial<PayloadSignStartOptions>, RegExp]>([
    ['no key at all', { keys: [] }, /needs at least one --key/],
    ['neither --trusted-key nor --allow-unverified', { allowUnverified: false }, /give the build server certificate with --trusted-key/],
    ['--allow-unverified with --trusted-key', { trustedKeys: ['build.asc'] }, /--allow-unverified cannot be combined with --trusted-key/],
    ['--revoker-key without --trusted-key', { revokerKeys: ['revoker.asc'] }, /--revoker-key checks revocations of a pinned certificate/],
  ])('%s', (_name, over, message) => {
    expect(() => startPayloadSign(options(over))).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(message) }));
  });

  it('a payload that is not a regular file (a folder) is INPUT_UNREADABLE', () => {
    mkdirSync(join(dir, 'folder'));
    expect(() => startPayloadSign(options({ input: join(dir, 'folder') }))).toThrow(expect.objectContaining({ code: 'INPUT_UNREADABLE' }));
  });

  it('an output that exists is OUTPUT_EXISTS unless --force; with --force the run goes on (here to the missing module)', () => {
    writeFileSync(join(dir, 'update.signed'), 'precious');
    expect(() => startPayloadSign(options())).toThrow(expect.objectContaining({ code: 'OUTPUT_EXISTS', message: expect.stringMatching(/already exists/) }));
    expect(() => startPayloadSign(options({ overwrite: true }))).toThrow(expect.objectContaining({ code: 'MODULE_NOT_FOUND' }));
    expect(readdirSync(dir).sort()).toEqual(['update.signed', 'update.unsigned']);
  });

  it('a verified run (--trusted-key, with its --revoker-key) passes the refusals (here to the missing module)', () => {
    expect(() => startPayloadSign(options({ allowUnverified: false, trustedKeys: ['build.asc'], revokerKeys: ['revoker.asc'] }))).toThrow(
      expect.objectContaining({ code: 'MODULE_NOT_FOUND' }),
    );
  });
});
