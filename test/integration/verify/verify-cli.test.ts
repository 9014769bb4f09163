/**
 * `ceremony verify` as a user runs it (the compiled CLI), against a corpus made with real GnuPG. Every refusal:
 * the documented exit code, one `error[CODE]: FILE: sentence` line per rejected file, no stack trace.
 * Tests are named after the attack or accident they stop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeGpgCorpus, type GpgCorpus } from '../../helpers/gpg-corpus.js';
import { expectCleanError, runCeremony, VECTORS, type CliRun } from '../../helpers/cli.js';

let c: GpgCorpus;
let n = 0;

/** A release file in its own folder, with FILE.sig by `key` and a clearsigned Flatcar FILE.DIGESTS.asc. */
function release(content: Buffer | string = `release ${n}\n`, key = () => c.build.current): string {
  const dir = join(c.dir, `cli-${++n}`);
  mkdirSync(dir);
  const file = join(dir, 'flatcar_production_update.gz');
  writeFileSync(file, content);
  c.sign(file, key());
  c.clearsign(c.flatcarDigests(`${file}.DIGESTS`, [file]), key());
  return file;
}

const verify = (...args: string[]): CliRun => runCeremony(['verify', '--trusted-key', c.build.cert, ...args]);

/** A refusal of one file: exit code, its own error line naming the file, nothing else on stderr but warnings. */
function expectRejected(run: CliRun, code: string, exit: number, file: string): void {
  expectCleanError(run, code, exit);
  const errors = run.stderr.split('\n').filter((l) => l.startsWith('error['));
  expect(errors).toHaveLength(1);
  expect(errors[0]!.startsWith(`error[${code}]: ${file}: `)).toBe(true);
  expect(run.stdout).toMatch(new RegExp(`^REJECTED  ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
}

beforeAll(() => {
  c = makeGpgCorpus();
});
afterAll(() => c?.cleanup());

describe('ceremony verify: accepted', () => {
  it('prints VERIFIED, signer fingerprints, time and both digests for a good binary signature and DIGESTS', () => {
    const file = release('good\n');
    const run = verify(file);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const groups = (fpr: string) => fpr.replace(/(.{4})(?=.)/g, '$1 ');
    expect(run.stdout).toContain(`VERIFIED  ${file}`);
    expect(run.stdout).toContain(`primary ${groups(c.build.primary)}`);
    expect(run.stdout).toContain(`key     ${groups(c.build.current)}`);
    expect(run.stdout).toMatch(/SHA-256 {2}[0-9a-f ]{79}\n/);
    expect(run.stdout).toMatch(/SHA-512 {2}[0-9a-f ]{159}\n/);
    expect(run.stdout).toContain('MD5, SHA1, SHA512 match');
    expect(run.stdout).toContain('at most 5 minutes in the future');
  });

  it('accepts an armored FILE.asc and a DIGESTS with a detached DIGESTS.sig; --json has the facts', () => {
    const dir = join(c.dir, 'armored');
    mkdirSync(dir);
    const file = join(dir, 'flatcar_production_image.bin.bz2');
    writeFileSync(file, Buffer.alloc(5000, 3));
    c.sign(file, c.build.current, { armor: true });
    c.sign(c.flatcarDigests(`${file}.DIGESTS`, [file]), c.build.current);
    const run = runCeremony(['--json', 'verify', '--trusted-key', c.build.cert, file]);
    expect(run.code, run.stderr).toBe(0);
    const out = run.json<{ ok: boolean; files: { status: string; sha256: string; signature: { source: string; keyFingerprint: string }; digestsCheck: { form: string } }[]; certificates: { fingerprint: string; subkeys: { state: string }[] }[] }>();
    expect(out.ok).toBe(true);
    expect(out.files[0]).toMatchObject({ status: 'VERIFIED', signature: { source: `${file}.asc`, keyFingerprint: c.build.current }, digestsCheck: { form: 'detached' } });
    expect(out.certificates[0]!.fingerprint).toBe(c.build.primary);
    expect(out.certificates[0]!.subkeys.map((s) => s.state).sort()).toEqual(['expired', 'revoked', 'valid']);
  });

  it('verifies several files against one clearsigned DIGESTS (--digests)', () => {
    const dir = join(c.dir, 'several');
    mkdirSync(dir);
    const files = ['flatcar_production_pxe.vmlinuz', 'flatcar_production_pxe_image.cpio.gz'].map((f, i) => {
      const p = join(dir, f);
      writeFileSync(p, `file ${i}\n`.repeat(100 + i));
      c.sign(p, c.build.current);
      return p;
    });
    const digests = c.clearsign(c.flatcarDigests(join(dir, 'release.DIGESTS'), files), c.build.current);
    const run = verify('--digests', digests, ...files);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('all 2 file(s) VERIFIED');
  });

  it('verifies the shared vectors: version.txt via .sig and DIGESTS.asc, and via DIGESTS + DIGESTS.sig', () => {
    const dir = join(VECTORS, 'digests');
    const key = join(dir, 'throwaway-test-signing-key.pub.asc');
    const a = runCeremony(['verify', '--trusted-key', key, join(dir, 'version.txt')]);
    expect(a.code, a.stderr).toBe(0);
    const b = runCeremony(['verify', '--trusted-key', key, '--digests', join(dir, 'version.txt.DIGESTS'), join(dir, 'version.txt')]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain('(detached');
  });

  it('draws no progress bar for a large file when stderr is not a terminal', () => {
    const file = release(Buffer.alloc(65 * 1024 * 1024, 0x5a));
    const run = verify(file);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('size     68157440 bytes');
  });
});

describe('ceremony verify: refused', () => {
  it('stops a bit flip in the file', () => {
    const file = release(Buffer.alloc(4096, 0x11));
    const bytes = readFileSync(file);
    bytes[1234]! ^= 0x01;
    writeFileSync(file, bytes);
    expectRejected(verify(file), 'SIGNATURE_INVALID', 1, file);
  });

  it('stops a truncated file', () => {
    const file = release(Buffer.alloc(4096, 0x12));
    truncateSync(file, 4000);
    expectRejected(verify(file), 'SIGNATURE_INVALID', 1, file);
  });

  it('stops bytes appended to the file', () => {
    const file = release(Buffer.alloc(4096, 0x13));
    appendFileSync(file, 'payload');
    expectRejected(verify(file), 'SIGNATURE_INVALID', 1, file);
  });

  it("stops a genuine signature over another file", () => {
    const file = release('this one\n');
    const other = release('another one\n');
    copyFileSync(`${other}.sig`, `${file}.sig`);
    expectRejected(verify(file), 'SIGNATURE_INVALID', 1, file);
  });

  it('stops a signer that is not pinned', () => {
    const file = release('untrusted\n', () => c.untrusted.primary);
    expectRejected(verify(file), 'SIGNATURE_UNTRUSTED', 1, file);
  });

  it('stops a signature by a subkey revoked as compromised', () => {
    expectRejected(verify('--signature', c.signatures.byRevoked, '--digests', digestsFor(c.sample), c.sample), 'SIGNATURE_KEY_REVOKED', 1, c.sample);
  });

  it('stops a signature made after its subkey expired', () => {
    expectRejected(verify('--signature', c.signatures.byExpiredKey, '--digests', digestsFor(c.sample), c.sample), 'SIGNATURE_KEY_EXPIRED', 1, c.sample);
  });

  it('stops a SHA-1 signature', () => {
    const file = release('sha1\n');
    c.sign(file, c.build.current, { digestAlgo: 'SHA1' });
    expectRejected(verify(file), 'SIGNATURE_WEAK_HASH', 1, file);
  });

  it('stops a signature dated tomorrow', () => {
    const file = release('future\n');
    c.sign(file, c.build.current, { time: Date.now() / 1000 + 86_400 });
    expectRejected(verify(file), 'SIGNATURE_FUTURE', 1, file);
  });

  it('refuses an empty signature file as malformed input', () => {
    const file = release('empty sig\n');
    writeFileSync(`${file}.sig`, '');
    expectRejected(verify(file), 'SIGNATURE_MALFORMED', 2, file);
  });

  it('refuses a garbage signature file as malformed input', () => {
    const file = release('garbage sig\n');
    writeFileSync(`${file}.sig`, Buffer.from('89021d04000108', 'hex'));
    expectRejected(verify(file), 'SIGNATURE_MALFORMED', 2, file);
    writeFileSync(`${file}.sig`, '-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n');
    expectRejected(verify(file), 'SIGNATURE_MALFORMED', 2, file);
  });

  it('refuses a garbage certificate before looking at any file', () => {
    const file = release('garbage cert\n');
    const cert = join(c.dir, 'garbage-cert.asc');
    writeFileSync(cert, 'this is not a certificate\n');
    const run = runCeremony(['verify', '--trusted-key', cert, file]);
    expectCleanError(run, 'CERTIFICATE_MALFORMED', 2);
  });

  it('refuses a file that does not exist as unreadable input', () => {
    const file = join(c.dir, 'no-such-file.bin');
    expectRejected(verify(file), 'INPUT_UNREADABLE', 2, file);
  });

  it('stops a file that has no signature', () => {
    const file = release('no signature\n');
    const moved = `${file}.sig.moved`;
    copyFileSync(`${file}.sig`, moved);
    writeFileSync(`${file}.sig`, '');
    const run = runCeremony(['verify', '--trusted-key', c.build.cert, file.replace('.gz', '.absent')]);
    expect(run.code).toBe(2);
    const dir = join(c.dir, 'unsigned');
    mkdirSync(dir);
    const lone = join(dir, 'lonely.bin');
    writeFileSync(lone, 'nobody signed me\n');
    expectRejected(verify(lone), 'SIGNATURE_MISSING', 1, lone);
  });

  it('stops a file whose signed DIGESTS do not match it', () => {
    const file = release('the real release\n');
    const stale = join(c.dir, `stale-${n}`);
    mkdirSync(stale);
    const old = join(stale, 'flatcar_production_update.gz');
    writeFileSync(old, 'last week\'s release\n');
    copyFileSync(c.clearsign(c.flatcarDigests(`${old}.DIGESTS`, [old]), c.build.current), `${file}.DIGESTS.asc`);
    expectRejected(verify(file), 'DIGEST_MISMATCH', 1, file);
  });

  it('stops a DIGESTS edited after signing', () => {
    const file = release('edited digests\n');
    const asc = readFileSync(`${file}.DIGESTS.asc`, 'utf8');
    const line = asc.split('\n').find((l) => /^[0-9a-f]{32} {2}/.test(l))!;
    writeFileSync(`${file}.DIGESTS.asc`, asc.replace(line, `${'0'.repeat(32)}${line.slice(32)}`));
    expectRejected(verify(file), 'SIGNATURE_INVALID', 1, file);
  });

  it('ignores (and reports) unsigned text appended to a clearsigned DIGESTS, even with the "right" hashes', () => {
    const file = release('appended digests\n');
    const other = join(c.dir, `other-${n}.DIGESTS`);
    // the signed DIGESTS lists a different file; the attacker appends the right lines for ours, unsigned
    const decoy = join(c.dir, `decoy-${n}`);
    writeFileSync(decoy, 'decoy\n');
    c.clearsign(c.flatcarDigests(other, [decoy]), c.build.current, { out: `${file}.DIGESTS.asc` });
    appendFileSync(`${file}.DIGESTS.asc`, readFileSync(c.flatcarDigests(`${file}.DIGESTS`, [file])));
    const run = verify(file);
    expectRejected(run, 'DIGEST_MISSING', 1, file);
    expect(run.stderr).toMatch(/^warning: .*DIGESTS\.asc: 6 line\(s\) outside the clearsigned block were ignored/m);
  });

  it('stops a file the DIGESTS do not list', () => {
    const file = release('unlisted\n');
    const decoy = join(c.dir, `unlisted-decoy-${n}`);
    writeFileSync(decoy, 'decoy\n');
    c.clearsign(c.flatcarDigests(`${file}.DIGESTS`, [decoy]), c.build.current);
    expectRejected(verify(file), 'DIGEST_MISSING', 1, file);
  });

  it('stops DIGESTS that list only MD5 and SHA-1 for the file', () => {
    const file = release('weak digests\n');
    c.clearsign(c.flatcarDigests(`${file}.DIGESTS`, [file], ['md5', 'sha1']), c.build.current);
    expectRejected(verify(file), 'DIGEST_MISSING', 1, file);
  });

  it('stops DIGESTS signed by a key that is not pinned', () => {
    const file = release('digests by stranger\n');
    c.clearsign(`${file}.DIGESTS`, c.untrusted.primary);
    expectRejected(verify(file), 'SIGNATURE_UNTRUSTED', 1, file);
  });

  it('refuses a DIGESTS file with two clearsigned blocks as malformed', () => {
    const file = release('two blocks\n');
    const asc = readFileSync(`${file}.DIGESTS.asc`, 'utf8');
    writeFileSync(`${file}.DIGESTS.asc`, asc + asc);
    expectRejected(verify(file), 'DIGESTS_MALFORMED', 2, file);
  });

  it('rejects only the bad file among several, and exits 1', () => {
    const good = release('fine\n');
    const bad = release('flipped\n');
    appendFileSync(bad, 'x');
    const run = verify(good, bad);
    expectRejected(run, 'SIGNATURE_INVALID', 1, bad);
    expect(run.stdout).toContain(`VERIFIED  ${good}`);
    expect(run.stdout).toContain('1 of 2 file(s) REJECTED');
  });
});

/** A clearsigned DIGESTS for an existing file, made by the valid subkey, in a folder of its own. */
function digestsFor(file: string): string {
  const dir = join(c.dir, `digests-${++n}`);
  mkdirSync(dir);
  return c.clearsign(c.flatcarDigests(join(dir, 'sample.DIGESTS'), [file]), c.build.current);
}
