/**
 * `ceremony sign --revoker-key` (issue 12.2) through the real binary on SoftHSM: nothing is signed under a build
 * certificate its designated revoker has revoked, nor under one naming a revoker whose certificate was not given;
 * with the revoker's certificate and no revocation the ceremony signs, and its record lists the option.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeSoftHsm, type SoftHsm } from '../../helpers/softhsm.js';
import { expectCleanError, runCeremony } from '../../helpers/cli.js';
import { makeRevokerMaterial, type RevokerMaterial } from '../../helpers/gpg-revoker.js';

const PIN = 'release-maintainer-7';
const KEY = 'pkcs11:token=signing;object=release-2026';
let hsm: SoftHsm;
let m: RevokerMaterial;
let work: string;
let env: NodeJS.ProcessEnv;

function sign(out: string, args: string[]) {
  return runCeremony(['sign', ...args, '--key', KEY, '--out-dir', out, '--record-dir', 'records', '--allow-network', m.file], { env, cwd: work });
}

beforeAll(() => {
  m = makeRevokerMaterial();
  hsm = makeSoftHsm('ceremony-sign-revoker-');
  hsm.initToken('signing', PIN);
  work = join(hsm.dir, 'work');
  mkdirSync(work);
  env = { ...hsm.env, CEREMONY_PIN: PIN };
  const gen = runCeremony(['key', 'generate', '--token', 'pkcs11:token=signing', '--label', 'release-2026', '--bits', '2048', '--valid-days', '365', '--openpgp-uid', 'Example Release Signing <release@example.org>'], { env });
  expect(gen.code, gen.stderr).toBe(0);
}, 120_000);

afterAll(() => {
  hsm?.cleanup();
  m?.cleanup();
});

describe('ceremony sign with designated revokers', () => {
  it('signs nothing under a build certificate revoked by its designated revoker (--revoker-key)', () => {
    const run = sign('revoked', ['--trusted-key', m.cert.revoked, '--revoker-key', m.cert.revoker]);
    expectCleanError(run, 'SIGNATURE_KEY_REVOKED', 1);
    expect(existsSync(join(work, 'revoked')) ? readdirSync(join(work, 'revoked')) : []).toEqual([]);
  });

  it('signs nothing under a certificate naming a revoker whose certificate was not given', () => {
    const run = sign('unchecked', ['--trusted-key', m.cert.named]);
    expectCleanError(run, 'SIGNATURE_REVOKER_UNKNOWN', 1);
    expect(existsSync(join(work, 'unchecked')) ? readdirSync(join(work, 'unchecked')) : []).toEqual([]);
  });

  it('signs when the revoker is known and has not revoked, and records --revoker-key', () => {
    const run = sign('signed', ['--trusted-key', m.cert.named, '--revoker-key', m.cert.revoker]);
    expect(run.code, run.stderr).toBe(0);
    expect(readdirSync(join(work, 'signed'))).toEqual(['flatcar_production_image.bin.sig']);
    // the ceremony's first record line lists its options, --revoker-key among them
    const lines = readdirSync(join(work, 'records')).flatMap((d) => readFileSync(join(work, 'records', d, 'log.jsonl'), 'utf8').split('\n').slice(0, 1));
    const started = lines.filter((l) => l.includes(m.cert.named) && l.includes('"revoker-key"'));
    expect(started).toHaveLength(1);
    expect(started[0]).toContain(m.cert.revoker);
  });
});
