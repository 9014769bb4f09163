/**
 * `ceremony payload sign|verify` as a user runs them: the compiled CLI, keys in a real SoftHSM token
 * imported with pkcs11-tool, PINs from CEREMONY_PIN, Flatcar's vectors as the known answers.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSoftHsm, type SoftHsm } from '../../helpers/softhsm.js';
import { VECTORS, expectCleanError, runCeremony, spawnCeremony } from '../../helpers/cli.js';
import { makeUnsignedPayload } from '../../unit/payload/make-payload.js';
import { reviewRecord } from '../../../ceremony/audit/review.js';

const PIN = '24680';
const CRAU = join(VECTORS, 'crau');
const UNSIGNED = join(CRAU, 'update.unsigned');
const SIGNED = join(CRAU, 'update.signed');
const DEV_KEY = join(VECTORS, 'flatcar-keys/developer-v1.key.pem');
const DEV_PUB = join(VECTORS, 'flatcar-keys/developer-v1.pub.pem');
const OFFICIAL_PUB = join(VECTORS, 'flatcar-keys/official-v2.pub.pem');
const DEV_URI = 'pkcs11:token=signing;object=developer-v1';

let hsm: SoftHsm;
let work: string;
let env: NodeJS.ProcessEnv;

beforeEach(() => {
  hsm = makeSoftHsm();
  hsm.initToken('signing', PIN);
  work = mkdtempSync(join(tmpdir(), 'ceremony-payload-'));
  env = { ...hsm.env, CEREMONY_PIN: PIN };
  // Every payload ceremony seals its record with an OpenPGP key of the token (DESIGN §5).
  const seal = runCeremony(['key', 'generate', '--token', 'pkcs11:token=signing', '--label', 'seal', '--bits', '2048', '--valid-days', '30', '--openpgp-uid', 'Record Seal <seal@example.org>'], { env });
  expect(seal.code, seal.stderr).toBe(0);
});

/**
 * Ceremony options every signing run here takes: the record under the test's folder; this machine is
 * networked; Flatcar's vectors come without a build server signature, so they are signed unverified.
 */
const ceremonyArgs = () => ['--allow-network', '--allow-unverified', '--record-dir', join(work, 'records')];
afterEach(() => {
  hsm.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** Import a PEM key pair into a token as an operator would: openssl to DER, pkcs11-tool --write-object. */
function importKey(token: string, pemPath: string, label: string, id: string): void {
  const privDer = join(work, `${label}.key.der`);
  const pubDer = join(work, `${label}.pub.der`);
  execFileSync('openssl', ['rsa', '-in', pemPath, '-outform', 'DER', '-out', privDer], { stdio: 'ignore' });
  execFileSync('openssl', ['rsa', '-in', pemPath, '-pubout', '-outform', 'DER', '-out', pubDer], { stdio: 'ignore' });
  hsm.pkcs11Tool(['--token-label', token, '--login', '--pin', PIN, '--write-object', privDer, '--type', 'privkey', '--id', id, '--label', label]);
  hsm.pkcs11Tool(['--token-label', token, '--login', '--pin', PIN, '--write-object', pubDer, '--type', 'pubkey', '--id', id, '--label', label]);
}

/** A second key made on the token itself; returns its exported public key file. */
function generateKey(token: string, label: string): string {
  const gen = runCeremony(['key', 'generate', '--token', `pkcs11:token=${token}`, '--label', label, '--bits', '2048'], { env });
  expect(gen.code, gen.stderr).toBe(0);
  const pub = join(work, `${label}.pub.pem`);
  const exp = runCeremony(['key', 'export', '--key', `pkcs11:token=${token};object=${label}`, '--out', pub], { env });
  expect(exp.code, exp.stderr).toBe(0);
  return pub;
}

describe('payload sign on SoftHSM', () => {
  it('writes exactly update.signed from update.unsigned with developer-v1 on the token', () => {
    importKey('signing', DEV_KEY, 'developer-v1', '01');
    const out = join(work, 'update.signed');
    const r = runCeremony(['--json', 'payload', 'sign', ...ceremonyArgs(), '--key', DEV_URI, '--out', out, UNSIGNED], { env });
    expect(r.code, r.stderr).toBe(0);
    // The imported key (no state record, no dates) is warned of when it is selected, and the signature does not say it again.
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings.some((w) => /developer-v1' carries no validity dates/.test(w))).toBe(true);
    expect(warnings).toEqual([...new Set(warnings)]);
    expect(readFileSync(out).equals(readFileSync(SIGNED))).toBe(true);
    const result = r.json<{ ok: boolean; signedHash: string; signatures: { version: number }[]; signaturesOffset: number; signaturesSize: number }>();
    expect(result.ok).toBe(true);
    expect(result.signedHash).toBe(readFileSync(join(CRAU, 'update.hash')).toString('hex'));
    expect(result.signatures.map((s) => s.version)).toEqual([2]);
    expect([result.signaturesOffset, result.signaturesSize]).toEqual([13423, 264]);
    expect(readdirSync(work).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('signs with two keys on two tokens: versions 1 and 2, update_engine checks the second', () => {
    hsm.initToken('second', PIN);
    importKey('signing', DEV_KEY, 'developer-v1', '01');
    const pub2 = generateKey('second', 'payload-2026');
    const out = join(work, 'two.signed');
    const r = runCeremony(['payload', 'sign', ...ceremonyArgs(), '--key', DEV_URI, '--key', 'pkcs11:token=second;object=payload-2026', '--out', out, UNSIGNED], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/version 1 .*developer-v1/);
    expect(r.stdout).toMatch(/version 2 .*payload-2026.*checked by update_engine/);

    const ok = runCeremony(['--json', 'payload', 'verify', '--public-key', pub2, out]);
    expect(ok.code, ok.stderr).toBe(0);
    const report = ok.json<{ signatures: { version: number; verifiedBy: string[]; checkedByUpdateEngine: boolean }[] }>();
    expect(report.signatures.map((s) => [s.version, s.verifiedBy, s.checkedByUpdateEngine])).toEqual([
      [1, [], false],
      [2, [pub2], true],
    ]);
    // The developer signature is valid but version 1: refused, and the listing says why.
    const dev = runCeremony(['payload', 'verify', '--public-key', DEV_PUB, out]);
    expectCleanError(dev, 'PAYLOAD_SIGNATURE_INVALID', 1);
    expect(dev.stdout).toMatch(/#1 +version 1 .*valid with .*developer-v1\.pub\.pem/);
    expect(dev.stderr).toMatch(/update_engine does not check them/);
    const devJson = runCeremony(['--json', 'payload', 'verify', '--public-key', DEV_PUB, out]);
    expectCleanError(devJson, 'PAYLOAD_SIGNATURE_INVALID', 1);
    const refusal = devJson.json<{ ok: boolean; error: { signatures: { version: number; verifiedBy: string[] }[] } }>();
    expect(refusal.ok).toBe(false);
    expect(refusal.error.signatures.map((s) => [s.version, s.verifiedBy])).toEqual([
      [1, [DEV_PUB]],
      [2, []],
    ]);
  });

  it('signs with two keys on one token after one login', () => {
    importKey('signing', DEV_KEY, 'developer-v1', '01');
    const pub2 = generateKey('signing', 'payload-2026');
    const out = join(work, 'two.signed');
    const r = runCeremony(['payload', 'sign', ...ceremonyArgs(), '--key', DEV_URI, '--key', 'pkcs11:token=signing;object=payload-2026', '--out', out, UNSIGNED], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(runCeremony(['payload', 'verify', '--public-key', pub2, out]).code).toBe(0);
  });
});

describe('payload verify', () => {
  it('accepts update.signed with developer-v1 and lists its version-2 signature', () => {
    const r = runCeremony(['payload', 'verify', '--public-key', DEV_PUB, SIGNED]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/#1 +version 2 +256 bytes +valid with .*developer-v1\.pub\.pem +<- checked by update_engine/);
    expect(r.stdout).toMatch(/^OK: update_engine would accept it/m);
  });

  it("refuses update.signed with Flatcar's official key (wrong key)", () => {
    expectCleanError(runCeremony(['payload', 'verify', '--public-key', OFFICIAL_PUB, SIGNED]), 'PAYLOAD_SIGNATURE_INVALID', 1);
  });

  it('refuses a payload whose data blob was altered after signing', () => {
    const bytes = readFileSync(SIGNED);
    bytes[1000]! ^= 0x80;
    const p = join(work, 'tampered');
    writeFileSync(p, bytes);
    expectCleanError(runCeremony(['payload', 'verify', '--public-key', DEV_PUB, p]), 'PAYLOAD_SIGNATURE_INVALID', 1);
  });

  it('refuses a truncated payload as malformed', () => {
    const p = join(work, 'cut');
    writeFileSync(p, readFileSync(SIGNED).subarray(0, 5000));
    expectCleanError(runCeremony(['payload', 'verify', '--public-key', DEV_PUB, p]), 'PAYLOAD_MALFORMED', 2);
  });

  it('refuses a public key file that is not a key', () => {
    expectCleanError(runCeremony(['payload', 'verify', '--public-key', UNSIGNED, SIGNED]), 'INPUT_MALFORMED', 2);
  });
});

describe('payload sign refusals leave nothing behind', () => {
  beforeEach(() => importKey('signing', DEV_KEY, 'developer-v1', '01'));

  it('refuses to sign an already-signed payload (double signing)', () => {
    const out = join(work, 'x');
    const r = runCeremony(['payload', 'sign', ...ceremonyArgs(), '--key', DEV_URI, '--out', out, SIGNED], { env });
    expectCleanError(r, 'PAYLOAD_ALREADY_SIGNED', 1);
    expect(r.stderr).toMatch(/already signed/);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a malformed payload', () => {
    const p = join(work, 'junk');
    writeFileSync(p, 'CrAU\0\0\0\0\0\0\0\x01\xff\xff\xff\xff\xff\xff\xff\xff');
    expectCleanError(runCeremony(['payload', 'sign', ...ceremonyArgs(), '--key', DEV_URI, '--out', join(work, 'x'), p], { env }), 'PAYLOAD_MALFORMED', 2);
    expect(readdirSync(work).filter((f) => !f.endsWith('.der') && f !== 'records')).toEqual(['junk']);
  });

  it('refuses to overwrite an existing output without --force', () => {
    const out = join(work, 'exists');
    writeFileSync(out, 'keep me');
    expectCleanError(runCeremony(['payload', 'sign', ...ceremonyArgs(), '--key', DEV_URI, '--out', out, UNSIGNED], { env }), 'OUTPUT_EXISTS', 2);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    const forced = runCeremony(['payload', 'sign', ...ceremonyArgs(), '--key', DEV_URI, '--out', out, '--force', UNSIGNED], { env });
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(out).equals(readFileSync(SIGNED))).toBe(true);
  });

  it('refuses a wrong PIN and writes nothing; the record, which the seal key behind that PIN cannot seal, reviews refused-unsealed', async () => {
    const out = join(work, 'x');
    expectCleanError(runCeremony(['payload', 'sign', ...ceremonyArgs(), '--key', DEV_URI, '--out', out, UNSIGNED], { env: { ...env, CEREMONY_PIN: '00000' } }), 'PIN_INCORRECT', 3);
    expect(existsSync(out)).toBe(false);
    const [record] = readdirSync(join(work, 'records'));
    const r = await reviewRecord(join(work, 'records', record!));
    expect(r.verdict, r.summary).toBe('refused-unsealed');
    expect(r.refusal).toMatchObject({ step: 'hsm-login', code: 'PIN_INCORRECT' });
  });

  it('refuses a key that is not on the token', () => {
    expectCleanError(runCeremony(['payload', 'sign', ...ceremonyArgs(), '--key', 'pkcs11:token=signing;object=nope', '--out', join(work, 'x'), UNSIGNED], { env }), 'KEY_NOT_FOUND', 3);
  });

  it('a SIGKILL during signing leaves no output file', async () => {
    const input = join(work, 'big.unsigned');
    makeUnsignedPayload(input, 384 * 1024 * 1024);
    const outDir = mkdtempSync(join(work, 'out-'));
    const out = join(outDir, 'big.signed');
    const child = spawnCeremony(['payload', 'sign', ...ceremonyArgs(), '--key', DEV_URI, '--out', out, input], { env });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // Kill as soon as the temp file has data in it: the copy is under way.
    for (;;) {
      const partial = readdirSync(outDir).find((f) => f.endsWith('.partial'));
      if (partial && (statSync(join(outDir, partial), { throwIfNoEntry: false })?.size ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(existsSync(out)).toBe(false);
    // Only an inert, dot-named temp file can remain (a SIGKILL cannot be caught).
    expect(readdirSync(outDir).every((f) => f.startsWith('.big.signed.') && f.endsWith('.partial'))).toBe(true);
  });

  it('a SIGTERM during signing leaves neither output nor temp file', async () => {
    const input = join(work, 'big.unsigned');
    makeUnsignedPayload(input, 384 * 1024 * 1024);
    const outDir = mkdtempSync(join(work, 'out-'));
    const out = join(outDir, 'big.signed');
    const child = spawnCeremony(['payload', 'sign', ...ceremonyArgs(), '--key', DEV_URI, '--out', out, input], { env });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    for (;;) {
      if (readdirSync(outDir).some((f) => f.endsWith('.partial'))) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(2);
    expect(stderr).toMatch(/^error\[CANCELLED\]: /m);
    expect(readdirSync(outDir)).toEqual([]);
  });
});

describe('special files as input are refused without blocking (issue 12, item 6)', () => {
  // A FIFO with no writer makes open(2) wait forever, and the process then ignored SIGTERM. Each run
  // must end by itself: the test timeout catches a hang (no timing assertion), and a run still alive
  // afterwards is killed.
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  function fifo(name: string): string {
    const p = join(work, name);
    execFileSync('mkfifo', [p]);
    return p;
  }

  async function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
    const child = spawnCeremony(args, { env });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    return { code, stderr };
  }

  function expectRefused(r: { code: number | null; stderr: string }): void {
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^error\[INPUT_UNREADABLE\]: .*not a regular file/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }

  it('payload verify on a FIFO exits 2 at once', async () => {
    expectRefused(await run(['payload', 'verify', '--public-key', DEV_PUB, fifo('update.signed')]));
  }, 60_000);

  it('payload verify with a FIFO as --public-key exits 2 at once', async () => {
    expectRefused(await run(['payload', 'verify', '--public-key', fifo('key.pem'), SIGNED]));
  }, 60_000);

  it('payload sign on a FIFO exits 2 at once and writes nothing', async () => {
    importKey('signing', DEV_KEY, 'developer-v1', '01');
    const out = join(work, 'out.signed');
    expectRefused(await run(['payload', 'sign', ...ceremonyArgs(), '--key', DEV_URI, '--out', out, fifo('update.unsigned')]));
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('payload sign with a FIFO as --trusted-key exits 2 at once', async () => {
    importKey('signing', DEV_KEY, 'developer-v1', '01');
    const args = ['payload', 'sign', '--allow-network', '--record-dir', join(work, 'records'), '--trusted-key', fifo('build-server.asc'), '--key', DEV_URI, '--out', join(work, 'o'), UNSIGNED];
    expectRefused(await run(args));
  }, 60_000);

  it('sign with a FIFO as a release file exits 2 at once, before anything is verified or signed', async () => {
    const args = ['sign', '--allow-network', '--record-dir', join(work, 'records'), '--trusted-key', DEV_PUB, '--key', 'pkcs11:token=signing;object=seal', '--out-dir', join(work, 'signed'), fifo('version.txt')];
    expectRefused(await run(args));
    expect(existsSync(join(work, 'signed'))).toBe(false);
  }, 60_000);
});
