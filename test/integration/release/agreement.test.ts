/**
 * Builder agreement (issue 15) with real GnuPG stand-in builders: a release file verifies only when K builders'
 * DIGESTS, each signed by that builder's own pinned key, list it with the digests the file has.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { loadBuilderSet, type BuilderSet } from '../../../ceremony/release/builders.js';
import { verifyReleaseFiles } from '../../../ceremony/release/verify-release.js';
import { loadTrustedCertificates, type TrustedCertificate } from '../../../ceremony/openpgp/verify/certificate.js';
import { makeStandInBuilders, type StandInBuilders } from '../../helpers/builders.js';
import { expectCleanError, runCeremony } from '../../helpers/cli.js';

let b: StandInBuilders;
let trusted: TrustedCertificate[];
const now = () => new Date(Date.now() + 1000);

beforeAll(async () => {
  b = makeStandInBuilders(['alpha', 'beta', 'gamma', 'rogue']);
  trusted = await loadTrustedCertificates([b.cert.server!], now());
}, 60_000);
afterAll(() => b?.cleanup());

let n = 0;
/** A fresh release file (its own name, so each test's DIGESTS files are its own). */
function release(): { file: string; name: string; bytes: Buffer } {
  const name = `image-${++n}.bin`;
  const bytes = Buffer.from(`release ${n} ${'x'.repeat(1000)}`);
  return { file: b.release(name, bytes), name, bytes };
}

async function set(threshold: number, members = ['alpha', 'beta', 'gamma']): Promise<BuilderSet> {
  return loadBuilderSet({ threshold, members: members.map((m) => ({ name: m, certificates: [b.cert[m]!] })) }, now());
}

describe('builder agreement', () => {
  it('verifies a file two of three builders reproduced, and names the missing one', async () => {
    const r = release();
    b.publishDigests(r.file, b.digestsOf(r.name, r.bytes), 'alpha');
    b.publishDigests(r.file, b.digestsOf(r.name, r.bytes), 'beta');
    const [v] = await verifyReleaseFiles([r.file], { trusted, now: now(), builders: await set(2) });
    expect(v!.status, v!.reason ?? '').toBe('VERIFIED');
    expect(v!.agreement).toMatchObject({ met: true, agreed: ['alpha', 'beta'], disagreed: [], missing: ['gamma'], threshold: 2 });
    expect(v!.agreement!.builders.find((x) => x.builder === 'alpha')!.keyFingerprint).toBe(b.fpr.alpha);
    expect(v!.agreement!.builders.find((x) => x.builder === 'gamma')!.code).toBe('DIGEST_MISSING');
  });

  it('refuses a file when one builder lists a digest differing by one hex digit, naming that builder (compromised build server or non-reproducible build)', async () => {
    const r = release();
    const good = b.digestsOf(r.name, r.bytes);
    b.publishDigests(r.file, good, 'alpha');
    b.publishDigests(r.file, good, 'gamma');
    const sha512 = createHash('sha512').update(r.bytes).digest('hex');
    const flipped = sha512.slice(0, -1) + (sha512.endsWith('0') ? '1' : '0');
    b.publishDigests(r.file, good.replace(sha512, flipped), 'beta');
    const [v] = await verifyReleaseFiles([r.file], { trusted, now: now(), builders: await set(2) });
    expect(v!.status).toBe('REJECTED');
    expect(v!.code).toBe('BUILDERS_DISAGREE');
    expect(v!.reason).toContain('builder beta');
    expect(v!.reason).toContain(flipped);
    expect(v!.agreement).toMatchObject({ met: false, agreed: ['alpha', 'gamma'], disagreed: ['beta'] });
    expect(v!.agreement!.builders.find((x) => x.builder === 'beta')!.difference).toMatchObject({ algorithm: 'sha512', listed: flipped, computed: sha512 });
  });

  it('counts a builder that signs twice once: a DIGESTS published under another builder\'s name with its own key does not count', async () => {
    const r = release();
    const good = b.digestsOf(r.name, r.bytes);
    b.publishDigests(r.file, good, 'alpha');
    b.publishDigests(r.file, good, 'alpha', 'beta');
    const [v] = await verifyReleaseFiles([r.file], { trusted, now: now(), builders: await set(2) });
    expect(v!.status).toBe('REJECTED');
    expect(v!.code).toBe('BUILDERS_QUORUM_NOT_MET');
    expect(v!.agreement).toMatchObject({ agreed: ['alpha'], missing: ['beta', 'gamma'] });
    expect(v!.agreement!.builders.find((x) => x.builder === 'beta')!.code).toBe('SIGNATURE_UNTRUSTED');
  });

  it('refuses a config pinning one key for two builders, so one signer cannot count twice', async () => {
    await expect(loadBuilderSet({ threshold: 2, members: [{ name: 'alpha', certificates: [b.cert.alpha!] }, { name: 'beta', certificates: [b.cert.alpha!] }] }, now())).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('does not count a DIGESTS signed by an unpinned key', async () => {
    const r = release();
    const good = b.digestsOf(r.name, r.bytes);
    b.publishDigests(r.file, good, 'alpha');
    b.publishDigests(r.file, good, 'rogue', 'gamma');
    const [v] = await verifyReleaseFiles([r.file], { trusted, now: now(), builders: await set(2) });
    expect(v!.code).toBe('BUILDERS_QUORUM_NOT_MET');
    expect(v!.reason).toContain('gamma (SIGNATURE_UNTRUSTED)');
    expect(v!.agreement).toMatchObject({ agreed: ['alpha'], missing: ['beta', 'gamma'] });
  });

  it('refuses a builder DIGESTS that does not list the file with SHA-512 (MD5/SHA-1 alone prove nothing)', async () => {
    const r = release();
    b.publishDigests(r.file, b.digestsOf(r.name, r.bytes), 'alpha');
    b.publishDigests(r.file, b.digestsOf(r.name, r.bytes).split('# SHA512 HASH')[0]!, 'beta');
    const [v] = await verifyReleaseFiles([r.file], { trusted, now: now(), builders: await set(2) });
    expect(v!.code).toBe('BUILDERS_QUORUM_NOT_MET');
    expect(v!.agreement!.builders.find((x) => x.builder === 'beta')!.code).toBe('DIGEST_MISSING');
  });
});

describe('ceremony verify --config with a builders rule', () => {
  function config(threshold: number): string {
    const file = `${b.dir}/config-${threshold}.json`;
    writeFileSync(
      file,
      JSON.stringify({
        hsm: { rootToken: 'root', signingToken: 'signing' },
        identity: { name: 'Example', email: 'security@example.org' },
        quorum: { threshold: 2, custodians: [{ name: 'alice' }, { name: 'bob' }] },
        trustedBuildKeys: [b.cert.server],
        builders: { threshold, members: ['alpha', 'beta', 'gamma'].map((m) => ({ name: m, certificates: [b.cert[m]] })) },
      }),
    );
    return file;
  }

  it('shows who agreed, who disagreed (with the digest) and who is missing, and exits 1 naming the disagreeing builder', () => {
    const r = release();
    const good = b.digestsOf(r.name, r.bytes);
    b.publishDigests(r.file, good, 'alpha');
    const md5 = createHash('md5').update(r.bytes).digest('hex');
    const other = md5.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
    b.publishDigests(r.file, good.replace(md5, other), 'beta');
    const run = runCeremony(['verify', '--config', config(1), r.file]);
    expectCleanError(run, 'BUILDERS_DISAGREE', 1);
    expect(run.stderr).toContain('builder beta lists MD5');
    expect(run.stdout).toMatch(/builders 1 of 3 agree, 1 required: NOT met/);
    expect(run.stdout).toContain('alpha: agreed');
    expect(run.stdout).toContain(`beta: DISAGREED, lists MD5 ${other}, the file has ${md5}`);
    expect(run.stdout).toMatch(/gamma: missing \[DIGEST_MISSING\]/);
  });

  it('exits 0 when the rule is met', () => {
    const r = release();
    b.publishDigests(r.file, b.digestsOf(r.name, r.bytes), 'gamma');
    const run = runCeremony(['verify', '--config', config(1), r.file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/builders 1 of 3 agree, 1 required: met/);
  });
});
