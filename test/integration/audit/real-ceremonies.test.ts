/**
 * Records made by the real quorum ceremonies (`ceremony init`, `ceremony renew`) on SoftHSM tokens,
 * sealed by the root key on the HSM, put through the auditor's checks: intact against the pinned root
 * certificate, every single-line forgery caught, the seal accepted by GnuPG, no PIN or share in any record
 * or public output, and a ceremony killed with SIGKILL leaving an incomplete record and no output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reviewRecord } from '../../../ceremony/audit/review.js';
import { runCeremony, spawnCeremony } from '../../helpers/cli.js';
import { makeSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../../helpers/softhsm.js';
import { assertEveryMutationCaught } from '../../helpers/record-mutations.js';
import { scanForSecrets } from '../../helpers/secret-scan.js';

const SIGNING_PIN = 'signing-pin-4821';
let hsm: SoftHsm;
let work: string;
let env: NodeJS.ProcessEnv;

function config(dir: string): string {
  const path = join(dir, 'config.json');
  writeFileSync(
    path,
    JSON.stringify({
      hsm: { module: SOFTHSM_MODULE, rootToken: 'root', signingToken: 'signing' },
      identity: { name: 'Example Image Signing Key', email: 'security@example.org' },
      quorum: { threshold: 2, custodians: [{ name: 'alice' }, { name: 'bob' }, { name: 'carol' }] },
      keys: { subkeyValidityDays: 365, overlapDays: 30, renewWindowDays: 60 },
      trustedBuildKeys: [],
    }),
  );
  return path;
}

const recordOf = (kind: string) => {
  const found = readdirSync(join(work, 'records')).filter((d) => d.includes(`-${kind}-`));
  expect(found).toHaveLength(1);
  return join(work, 'records', found[0]!);
};

beforeAll(() => {
  hsm = makeSoftHsm();
  hsm.initToken('signing', SIGNING_PIN);
  work = mkdtempSync(join(tmpdir(), 'audit-real-'));
  env = { ...hsm.env, CEREMONY_PIN: SIGNING_PIN };
  config(work);
  // The test machine is networked; the override is recorded (and shown by the review as a warning).
  const init = runCeremony(['init', '--config', 'config.json', '--out', 'out1', '--record-dir', 'records', '--allow-network'], { env, cwd: work });
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  const renew = runCeremony(
    ['renew', '--config', 'config.json', '--share', 'out1/shares/alice.share', '--share', 'out1/shares/carol.share', '--out', 'out2', '--record-dir', 'records', '--allow-network'],
    { env, cwd: work },
  );
  if (renew.code !== 0) throw new Error(`renew failed: ${renew.stderr}`);
});
afterAll(() => {
  hsm?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('records of the real init and renew ceremonies', () => {
  for (const [kind, cert] of [
    ['init', 'out1/certificate.asc'],
    ['renew', 'out2/certificate.asc'],
  ] as const) {
    it(`the ${kind} record is intact, sealed by the pinned root key, with its outputs matching`, async () => {
      const r = await reviewRecord(recordOf(kind), { trustedCertificates: [readFileSync(join(work, cert), 'utf8')] });
      expect(r.verdict, r.summary).toBe('intact');
      expect(r.seal.pinned).toBe(true);
      expect(r.seal.signerFingerprint).toBe(readFileSync(join(work, 'out1/root.fingerprint'), 'utf8').trim());
      expect(r.artifacts.length).toBeGreaterThan(0);
      expect(r.artifacts.every((a) => a.status === 'match')).toBe(true);
      if (kind === 'renew') expect(r.policy.find((p) => p.name === 'quorum-before-root-login')?.outcome).toBe('pass');
    });

    it(`every single-line forgery of the real ${kind} record is caught with a named finding`, async () => {
      const result = await assertEveryMutationCaught(recordOf(kind), { trustedCertificates: [readFileSync(join(work, cert), 'utf8')] });
      console.log(`real ${kind}: ${result.caught}/${result.total} caught (${result.caughtWithoutSeal} by the chain itself)`, result.byKind);
      expect(result.caught).toBe(result.total);
    });

    it(`gpg verifies the real ${kind} seal with the certificates in keys/`, () => {
      const dir = recordOf(kind);
      const home = mkdtempSync(join(tmpdir(), 'audit-gnupg-'));
      try {
        const gpg = (args: string[]) => spawnSync('gpg', ['--homedir', home, '--batch', '--no-tty', ...args], { encoding: 'utf8' });
        for (const f of readdirSync(join(dir, 'keys'))) expect(gpg(['--import', join(dir, 'keys', f)]).status).toBe(0);
        const v = gpg(['--status-fd', '1', '--verify', join(dir, 'log.jsonl.asc'), join(dir, 'log.jsonl')]);
        expect(v.status, v.stderr).toBe(0);
        expect(v.stdout).toContain('[GNUPG:] GOODSIG');
      } finally {
        spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
        rmSync(home, { recursive: true, force: true });
      }
    });
  }

  it('no record or public output holds the signing PIN or any share (old or new), in any encoding', () => {
    const shareTexts: string[] = [];
    for (const out of ['out1', 'out2']) {
      for (const f of readdirSync(join(work, out, 'shares'))) shareTexts.push(readFileSync(join(work, out, 'shares', f), 'utf8'));
    }
    expect(shareTexts.length).toBeGreaterThanOrEqual(6);
    const publicFiles = [join(work, 'records'), ...['out1', 'out2'].flatMap((o) => readdirSync(join(work, o)).filter((f) => f !== 'shares').map((f) => join(work, o, f)))];
    const scan = scanForSecrets(publicFiles, [Buffer.from(SIGNING_PIN), ...shareTexts]);
    expect(scan.filesScanned).toBeGreaterThan(10);
    expect(scan.hits).toEqual([]);
  });
});

describe('a real init ceremony killed with SIGKILL', () => {
  it('leaves a record that reviews as incomplete (not tampered) and no output', async () => {
    const h = makeSoftHsm();
    const dir = mkdtempSync(join(tmpdir(), 'audit-kill-'));
    try {
      h.initToken('signing', SIGNING_PIN);
      config(dir);
      const proc = spawnCeremony(['init', '--config', 'config.json', '--out', 'out', '--record-dir', 'records', '--allow-network'], { env: { ...h.env, CEREMONY_PIN: SIGNING_PIN }, cwd: dir });
      const exited = new Promise<NodeJS.Signals | null>((res) => proc.on('exit', (_c, sig) => res(sig)));
      // Kill while the root key is being generated (after its login is on record).
      for (;;) {
        await new Promise((r) => setTimeout(r, 5));
        const recs = existsSync(join(dir, 'records')) ? readdirSync(join(dir, 'records')) : [];
        const log = recs[0] ? join(dir, 'records', recs[0], 'log.jsonl') : undefined;
        if (log && existsSync(log) && readFileSync(log, 'utf8').includes('"step":"root-login"')) break;
        if (proc.exitCode !== null) throw new Error('init finished before it could be killed');
      }
      proc.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      const record = join(dir, 'records', readdirSync(join(dir, 'records'))[0]!);
      const r = await reviewRecord(record);
      expect(r.verdict, r.summary).toBe('incomplete');
      expect(r.summary).toMatch(/^incomplete, stopped after step (root-login|generate-key|build-certificate|hsm-login) \(line \d+\)$/);
      expect(r.findings.filter((f) => f.class === 'tampered' || f.class === 'policy')).toEqual([]);
      for (const f of ['certificate.asc', 'root.fingerprint', 'shares']) expect(existsSync(join(dir, 'out', f))).toBe(false);
      const cli = runCeremony(['audit', 'verify', record]);
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(/^error\[AUDIT_FAILED\]: the record is incomplete/);
    } finally {
      h.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
