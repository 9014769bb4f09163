/**
 * `ceremony payload sign --revoker-key` (issue 12.2's sibling in payload signing): a build-server certificate
 * that names a designated revoker (RFC 4880 §5.2.3.15) could not be used by `payload sign --trusted-key` at all,
 * as the revoker's certificate could not be given. Real parts: gpg makes the certificates, the revocation and
 * the payload's detached signature (test/helpers/gpg-revoker.ts); the payload key is Flatcar's developer key in
 * a SoftHSM token; the compiled CLI runs as a user runs it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSoftHsm, type SoftHsm } from '../../helpers/softhsm.js';
import { VECTORS, expectCleanError, runCeremony } from '../../helpers/cli.js';
import { makeRevokerMaterial, type RevokerMaterial } from '../../helpers/gpg-revoker.js';

const PIN = '24680';
const CRAU = join(VECTORS, 'crau');
const DEV_KEY = join(VECTORS, 'flatcar-keys/developer-v1.key.pem');
const DEV_URI = 'pkcs11:token=signing;object=developer-v1';

let hsm: SoftHsm;
let m: RevokerMaterial;
let payload: string;
let work: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  // update.unsigned signed by the build server key before its revoker revoked it.
  m = makeRevokerMaterial([{ name: 'flatcar_production_update.gz', bytes: readFileSync(join(CRAU, 'update.unsigned')) }]);
  payload = m.also[0]!;
  hsm = makeSoftHsm();
  hsm.initToken('signing', PIN);
  env = { ...hsm.env, CEREMONY_PIN: PIN };
  const seal = runCeremony(['key', 'generate', '--token', 'pkcs11:token=signing', '--label', 'seal', '--bits', '2048', '--valid-days', '30', '--openpgp-uid', 'Record Seal <seal@example.org>'], { env });
  expect(seal.code, seal.stderr).toBe(0);
  // The payload key imported as an operator would (openssl to DER, pkcs11-tool --write-object).
  const dir = mkdtempSync(join(tmpdir(), 'payload-revoker-keys-'));
  execFileSync('openssl', ['rsa', '-in', DEV_KEY, '-outform', 'DER', '-out', join(dir, 'k.der')], { stdio: 'ignore' });
  execFileSync('openssl', ['rsa', '-in', DEV_KEY, '-pubout', '-outform', 'DER', '-out', join(dir, 'p.der')], { stdio: 'ignore' });
  hsm.pkcs11Tool(['--token-label', 'signing', '--login', '--pin', PIN, '--write-object', join(dir, 'k.der'), '--type', 'privkey', '--id', '01', '--label', 'developer-v1']);
  hsm.pkcs11Tool(['--token-label', 'signing', '--login', '--pin', PIN, '--write-object', join(dir, 'p.der'), '--type', 'pubkey', '--id', '01', '--label', 'developer-v1']);
  rmSync(dir, { recursive: true, force: true });
}, 180_000);

afterAll(() => {
  hsm?.cleanup();
  m?.cleanup();
});

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'payload-revoker-'));
  return () => rmSync(work, { recursive: true, force: true });
});

const sign = (args: string[]) =>
  runCeremony(['payload', 'sign', '--allow-network', '--record-dir', join(work, 'records'), ...args, '--key', DEV_URI, '--out', join(work, 'update.signed'), payload], { env });

describe('payload sign with designated revokers', () => {
  it('signs against a certificate naming a revoker when the revoker is given and has not revoked, and records --revoker-key', () => {
    const r = sign(['--trusted-key', m.cert.named, '--revoker-key', m.cert.revoker]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(work, 'update.signed')).equals(readFileSync(join(CRAU, 'update.signed')))).toBe(true);
    const [rec] = readdirSync(join(work, 'records'));
    const start = readFileSync(join(work, 'records', rec!, 'log.jsonl'), 'utf8').split('\n')[0]!;
    expect(start).toContain('"revoker-key"');
    expect(start).toContain(m.cert.revoker);
  });

  it('refuses a payload whose server key its designated revoker has revoked (SIGNATURE_KEY_REVOKED, exit 1), writing nothing', () => {
    const r = sign(['--trusted-key', m.cert.revoked, '--revoker-key', m.cert.revoker]);
    expectCleanError(r, 'SIGNATURE_KEY_REVOKED', 1);
    expect(existsSync(join(work, 'update.signed'))).toBe(false);
  });

  it('refuses a certificate naming a revoker whose certificate was not given (SIGNATURE_REVOKER_UNKNOWN, exit 1)', () => {
    const r = sign(['--trusted-key', m.cert.named]);
    expectCleanError(r, 'SIGNATURE_REVOKER_UNKNOWN', 1);
    expect(existsSync(join(work, 'update.signed'))).toBe(false);
  });

  it('refuses --revoker-key without --trusted-key (USAGE, exit 2): there is no pinned certificate to check', () => {
    const r = sign(['--allow-unverified', '--revoker-key', m.cert.revoker]);
    expectCleanError(r, 'USAGE', 2);
    expect(existsSync(join(work, 'records'))).toBe(false);
  });
});
