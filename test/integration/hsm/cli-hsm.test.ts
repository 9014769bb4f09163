/**
 * The PKCS#11 layer through the real `ceremony` binary on real SoftHSM tokens, cross-checked with
 * pkcs11-tool and openssl (issue 2).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSoftHsm, type SoftHsm } from '../../helpers/softhsm.js';
import { expectCleanError, runCeremony } from '../../helpers/cli.js';

let hsm: SoftHsm;
let work: string;
const PIN = '246810';

beforeEach(() => {
  hsm = makeSoftHsm();
  hsm.initToken('signing', PIN);
  work = mkdtempSync(join(tmpdir(), 'ceremony-cli-'));
});
afterEach(() => {
  hsm.cleanup();
  rmSync(work, { recursive: true, force: true });
});

const env = () => ({ ...hsm.env, CEREMONY_PIN: PIN });

function generate(label: string, extra: string[] = []) {
  return runCeremony(['key', 'generate', '--token', 'pkcs11:token=signing', '--label', label, '--bits', '2048', ...extra], { env: env() });
}

describe('ceremony hsm / key on SoftHSM', () => {
  it('lists slots with the token found by label and its flags', () => {
    const run = runCeremony(['--json', 'hsm', 'slots'], { env: hsm.env });
    expect(run.code).toBe(0);
    const slots = run.json<{ slots: { label: string; flags: string[] }[] }>().slots;
    const signing = slots.find((s) => s.label === 'signing');
    expect(signing?.flags).toEqual(expect.arrayContaining(['login-required', 'user-pin-initialized', 'token-initialized']));
    // SoftHSM always offers one more free slot
    expect(slots.some((s) => !s.flags.includes('token-initialized'))).toBe(true);
  });

  it('generates a locked payload key (sensitive, sign-only, RSA-PKCS only, extractable only under a trusted wrapping key) that pkcs11-tool sees with its label and ID', () => {
    const run = runCeremony(['--json', 'key', 'generate', '--token', 'pkcs11:token=signing', '--label', 'payload-2026', '--bits', '2048', '--valid-days', '365'], { env: env() });
    expect(run.code, run.stderr).toBe(0);
    const key = run.json<{ key: { id: string; startDate: string; endDate: string; uri: string } }>().key;
    expect(key.id).toMatch(/^[0-9a-f]{16}$/);
    expect(key.endDate > key.startDate).toBe(true);

    const listing = hsm.pkcs11Tool(['--token-label', 'signing', '--login', '--pin', PIN, '--list-objects']);
    const priv = listing.split(/\n(?=\S)/).find((block) => block.startsWith('Private Key Object'))!;
    expect(priv).toContain('label:      payload-2026');
    expect(priv).toContain(`ID:         ${key.id}`);
    // A payload key must survive its token (issue 11): extractable, but only wrapped under an SO-made key.
    expect(priv).toMatch(/Access:\s+sensitive, always sensitive, extractable, local/);
    expect(priv).not.toMatch(/never extractable/);
    expect(priv).toMatch(/Usage:\s+sign\s*$/m);
    expect(priv).toMatch(/Allowed mechanisms:\s+RSA-PKCS\s*$/m);

    const keys = runCeremony(['--json', 'hsm', 'keys', '--token', 'pkcs11:token=signing'], { env: env() });
    expect(keys.code).toBe(0);
    const listed = keys.json<{ keys: { type: string; label: string; bits: number; validity: string; extractable?: boolean }[] }>().keys;
    expect(listed.filter((k) => k.label === 'payload-2026').map((k) => k.type).sort()).toEqual(['private', 'public']);
    expect(listed.every((k) => k.bits === 2048 && k.validity === 'valid')).toBe(true);
    expect(listed.find((k) => k.type === 'private')?.extractable).toBe(true);
  });

  it('exports the public key as SPKI PEM that openssl reads, to stdout and to --out', () => {
    expect(generate('k1').code).toBe(0);
    const stdout = runCeremony(['key', 'export', '--key', 'pkcs11:token=signing;object=k1', '--format', 'pem'], { env: hsm.env });
    expect(stdout.code, stdout.stderr).toBe(0);
    expect(stdout.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const out = join(work, 'k1.pem');
    expect(runCeremony(['key', 'export', '--key', 'pkcs11:token=signing;object=k1', '--out', out], { env: hsm.env }).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(stdout.stdout);
    const text = execFileSync('openssl', ['pkey', '-pubin', '-in', out, '-noout', '-text']).toString();
    expect(text).toContain('Public-Key: (2048 bit)');
  });

  it('hides private keys without a PIN and says so', () => {
    expect(generate('k1').code).toBe(0);
    const run = runCeremony(['--json', 'hsm', 'keys', '--token', 'pkcs11:token=signing'], { env: hsm.env });
    expect(run.code).toBe(0);
    expect(run.json<{ keys: { type: string }[] }>().keys.map((k) => k.type)).toEqual(['public']);
    expect(run.stderr).toMatch(/warning: no PIN available/);
  });

  it('reads the PIN from --pin-file and from pin-source=file: in the URI', () => {
    const pinFile = join(work, 'pin');
    writeFileSync(pinFile, PIN + '\n');
    chmodSync(pinFile, 0o600);
    const a = runCeremony(['key', 'generate', '--token', 'pkcs11:token=signing', '--label', 'a', '--bits', '2048', '--pin-file', pinFile], { env: hsm.env });
    expect(a.code, a.stderr).toBe(0);
    const b = runCeremony(['key', 'generate', '--token', `pkcs11:token=signing?pin-source=file:${pinFile}`, '--label', 'b', '--bits', '2048'], { env: hsm.env });
    expect(b.code, b.stderr).toBe(0);
  });

  it('an imported key without the protections (pkcs11-tool --keypairgen / --write-object with default attributes) is flagged by hsm keys', () => {
    expect(generate('payload-made-here', ['--valid-days', '30']).code).toBe(0);
    hsm.pkcs11Tool(['--token-label', 'signing', '--login', '--pin', PIN, '--keypairgen', '--key-type', 'rsa:2048', '--label', 'imported-gen', '--id', '0a0b']);
    const pem = join(work, 'imported.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', pem], { stdio: 'ignore' });
    hsm.pkcs11Tool(['--token-label', 'signing', '--login', '--pin', PIN, '--write-object', pem, '--type', 'privkey', '--label', 'imported-pem', '--id', '0c0d']);
    const text = runCeremony(['hsm', 'keys', '--token', 'pkcs11:token=signing'], { env: env() });
    expect(text.code, text.stderr).toBe(0);
    for (const label of ['imported-gen', 'imported-pem']) {
      expect(text.stderr).toMatch(new RegExp(`^warning: ${label}: lacks protections the tool gives its keys: modifiable, .*\\(an imported key`, 'm'));
    }
    expect(text.stderr).not.toMatch(/payload-made-here: lacks protections/);
    const listing = runCeremony(['--json', 'hsm', 'keys', '--token', 'pkcs11:token=signing'], { env: env() }).json<{ listing: { label: string; missing: string[] }[] }>().listing;
    const missing = Object.fromEntries(listing.map((k) => [k.label, k.missing]));
    // pkcs11-tool's defaults: modifiable halves, and a private half that may also decrypt and unwrap
    expect(missing['imported-gen']).toEqual(expect.arrayContaining(['modifiable', 'decrypt allowed', 'unwrap allowed']));
    expect(missing['imported-pem']).toEqual(expect.arrayContaining(['modifiable', 'decrypt allowed', 'unwrap allowed']));
    expect(missing['payload-made-here']).toEqual([]);
  });

  it('prints --help and --version', () => {
    const help = runCeremony(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: ceremony');
    const version = runCeremony(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('faults: exit code, one error line, no trace', () => {
  it('missing module file → MODULE_NOT_FOUND, exit 3', () => {
    const run = runCeremony(['hsm', 'slots', '--module', join(work, 'nope.so')], { env: hsm.env });
    expectCleanError(run, 'MODULE_NOT_FOUND', 3);
  });

  it('a file that is not a PKCS#11 module → MODULE_INVALID, exit 3', () => {
    const fake = join(work, 'fake.so');
    writeFileSync(fake, 'not an ELF shared object');
    expectCleanError(runCeremony(['hsm', 'slots', '--module', fake], { env: hsm.env }), 'MODULE_INVALID', 3);
    // a real shared library that is not a PKCS#11 module
    const libc = execFileSync('sh', ['-c', 'ls /lib/x86_64-linux-gnu/libz.so.1 /lib/aarch64-linux-gnu/libz.so.1 2>/dev/null | head -1']).toString().trim();
    if (libc) expectCleanError(runCeremony(['hsm', 'slots', '--module', libc], { env: hsm.env }), 'MODULE_INVALID', 3);
  });

  it('module from CEREMONY_PKCS11_MODULE is honoured', () => {
    expectCleanError(runCeremony(['hsm', 'slots'], { env: { ...hsm.env, CEREMONY_PKCS11_MODULE: join(work, 'x.so') } }), 'MODULE_NOT_FOUND', 3);
  });

  it('unknown token → TOKEN_NOT_FOUND, exit 3', () => {
    const run = runCeremony(['hsm', 'keys', '--token', 'pkcs11:token=nosuch'], { env: env() });
    expectCleanError(run, 'TOKEN_NOT_FOUND', 3);
    expect(run.stderr).toContain("'nosuch'");
  });

  it('wrong PIN → PIN_INCORRECT, exit 3, says how many tries are left, never echoes the PIN', () => {
    const run = runCeremony(['key', 'generate', '--token', 'pkcs11:token=signing', '--label', 'x', '--bits', '2048'], { env: { ...hsm.env, CEREMONY_PIN: 'wrong-999' } });
    expectCleanError(run, 'PIN_INCORRECT', 3);
    expect(run.stderr).toMatch(/wrong PIN for token 'signing' \(2 tries left before the ceremony stops\)/);
    expect(run.stderr + run.stdout).not.toContain('wrong-999');
  });

  it('no PIN source on an unattended run → PIN_UNAVAILABLE, exit 2', () => {
    expectCleanError(runCeremony(['key', 'generate', '--token', 'pkcs11:token=signing', '--label', 'x', '--bits', '2048'], { env: hsm.env }), 'PIN_UNAVAILABLE', 2);
  });

  it('pin-value in a URI → PIN_VALUE_REFUSED, exit 2, and the PIN is not repeated', () => {
    const run = runCeremony(['hsm', 'keys', '--token', `pkcs11:token=signing?pin-value=${PIN}`], { env: hsm.env });
    expectCleanError(run, 'PIN_VALUE_REFUSED', 2);
    expect(run.stderr).not.toContain(PIN);
  });

  it('unknown key → KEY_NOT_FOUND, exit 3', () => {
    expectCleanError(runCeremony(['key', 'export', '--key', 'pkcs11:token=signing;object=nosuch'], { env: env() }), 'KEY_NOT_FOUND', 3);
  });

  it('usage errors → USAGE, exit 2', () => {
    expectCleanError(runCeremony(['key', 'generate', '--token', 'pkcs11:token=signing', '--label', 'x', '--bits', '1024'], { env: env() }), 'USAGE', 2);
    expectCleanError(runCeremony(['hsm', 'keys']), 'USAGE', 2);
    expectCleanError(runCeremony(['no-such-command']), 'USAGE', 2);
    expectCleanError(runCeremony(['--json', 'hsm', 'keys', '--token', 'not-a-uri']), 'BAD_URI', 2);
  });

  it('a duplicate label is refused before touching the token', () => {
    expect(generate('dup').code).toBe(0);
    expectCleanError(generate('dup'), 'USAGE', 2);
  });
});
