/** `ceremony demo` runs the whole year end to end, as the README's first command does. */
import { afterAll, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, REPO, runCeremony, expectCleanError } from '../../helpers/cli.js';
import { scanForSecrets } from '../../helpers/secret-scan.js';
import { assertEveryMutationCaught } from '../../helpers/record-mutations.js';

const dir = mkdtempSync(join(tmpdir(), 'ceremony-demo-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('runs init, renew, sign, payload sign, gpg and the audit, and every record reviews as intact', () => {
  const run = runCeremony(['--json', 'demo', '--dir', join(dir, 'd')]);
  expect(run.code, run.stderr).toBe(0);
  const result = run.json<{ ok: boolean; records: { dir: string; verdict: string; report: string }[]; steps: { name: string; detail: string }[] }>();
  expect(result.ok).toBe(true);
  expect(result.records.map((r) => r.dir.match(/-(init|renew|sign|payload-sign)-/)![1]).sort()).toEqual(['init', 'payload-sign', 'renew', 'sign']);
  expect(result.records.every((r) => r.verdict === 'intact')).toBe(true);
  expect(result.steps.filter((s) => s.name === 'gnupg' && /good signature/.test(s.detail))).toHaveLength(2);
  // issue 15: the sign step checks builder agreement (2 of 3, one missing) and provenance for both release files
  expect(result.steps.filter((s) => s.name === 'sign:builder-agreement' && /2 of 3 builders agree \(2 required\)/.test(s.detail) && /rebuilder-c: missing/.test(s.detail))).toHaveLength(2);
  expect(result.steps.filter((s) => s.name === 'sign:provenance-check' && /built by https:\/\/builders\.demo\.invalid/.test(s.detail))).toHaveLength(2);
  for (const r of result.records) expect(readFileSync(r.report, 'utf8')).toMatch(/<!DOCTYPE html>/);
  // the demo leaves its throwaway PIN in a file only its owner reads, and says what to try next
  expect(statSync(join(dir, 'd', 'signing.pin')).mode & 0o077).toBe(0);
  expect(result.next.join('\n')).toContain(`export SOFTHSM2_CONF=${join(dir, 'd', 'softhsm2.conf')}`);
  expect(result.next.join('\n')).toContain(`--pin-file ${join(dir, 'd', 'signing.pin')}`);
  // From its second year the stand-in build server signs with a subkey the renewal certified (issue 15).
  const transition = JSON.parse(readFileSync(join(dir, 'd', 'renew', 'transition.json'), 'utf8')) as { buildSubkey: { fingerprint: string } };
  const buildFpr = transition.buildSubkey.fingerprint.match(/.{4}/g)!.join(' ');
  expect(result.steps.some((s) => s.name === 'build-server' && s.detail.includes(`using its certified subkey ${buildFpr}`))).toBe(true);
  // the signed outputs are there
  expect(readdirSync(join(dir, 'd', 'signed')).sort()).toEqual(['flatcar_production_image.bin.sig', 'flatcar_production_update.signed', 'version.txt.sig']);
  // no share text leaks into records or reports (share files are the custodians' hand-outs)
  const shares = readdirSync(join(dir, 'd', 'renew', 'shares')).filter((f) => f.endsWith('.share')).map((f) => readFileSync(join(dir, 'd', 'renew', 'shares', f), 'utf8'));
  const data = shares.map((s) => Buffer.from(/Data: ([\s\S]*?)\nChecksum/.exec(s)![1]!.replace(/\s+/g, ''), 'hex'));
  const scan = scanForSecrets([join(dir, 'd', 'ceremony-records'), join(dir, 'd', 'reports')], data);
  expect(scan.filesScanned).toBeGreaterThan(10);
  expect(scan.hits).toEqual([]);
}, 180_000);

it('catches every single-line edit, deletion, swap, duplication and truncation of each real record (init, renew, sign, payload-sign)', async () => {
  const records = readdirSync(join(dir, 'd', 'ceremony-records')).map((r) => join(dir, 'd', 'ceremony-records', r));
  expect(records).toHaveLength(4);
  const certificate = readFileSync(join(dir, 'd', 'renew', 'certificate.asc'), 'utf8');
  for (const record of records) {
    const result = await assertEveryMutationCaught(record, { trustedCertificates: [certificate] });
    expect(result.total).toBeGreaterThan(50);
    expect(result.caught).toBe(result.total);
  }
}, 300_000);

it("the demo's tokens are reusable: the next step it prints (hsm keys, audit verify, sign) works as printed", () => {
  const run = runCeremony(['demo', '--dir', join(dir, 'd2')]);
  expect(run.code, run.stderr).toBe(0);
  const lines = run.stdout.split('\n');
  const conf = lines.find((l) => l.trim().startsWith('export SOFTHSM2_CONF='))!.trim().slice('export SOFTHSM2_CONF='.length);
  const words = (l: string) => l.trim().replace(/^ceremony /, '').replace(/\\$/, '').trim().split(/\s+/).map((w) => w.replace(/^'(.*)'$/, '$1'));
  const keys = runCeremony(words(lines.find((l) => l.trim().startsWith('ceremony hsm keys'))!), { env: { SOFTHSM2_CONF: conf } });
  expect(keys.code, keys.stderr).toBe(0);
  const audit = runCeremony(words(lines.find((l) => l.trim().startsWith('ceremony audit verify'))!), { env: { SOFTHSM2_CONF: conf } });
  expect(audit.code, audit.stderr).toBe(0);
  const at = lines.findIndex((l) => l.trim().startsWith('ceremony sign'));
  const sign = runCeremony([...words(lines[at]!), ...words(lines[at + 1]!), '--allow-network', '--record-dir', join(dir, 'd2', 'records-again')], { env: { SOFTHSM2_CONF: conf } });
  expect(sign.code, sign.stderr).toBe(0);
}, 240_000);

it("the README's quick start after the demo (a signing token, a key and a signature of one's own) runs as written", () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Your own signing token, key and signature, after the demo'));
  const block = section.slice(section.indexOf('```sh\n') + 6, section.indexOf('\n```', section.indexOf('```sh\n')));
  const work = join(dir, 'quickstart');
  mkdirSync(work);
  const script = [
    'set -euo pipefail',
    `export GNUPGHOME=${join(work, 'gnupg')}`,
    'mkdir -m 700 "$GNUPGHOME"',
    // the machine running the tests has a network interface up: the README says to add --allow-network then
    `ceremony() { if [ "$1" = sign ]; then node ${CLI} "$@" --allow-network; else node ${CLI} "$@"; fi; }`,
    block.replaceAll('DIR/', `${join(dir, 'd2')}/`),
    'gpgconf --kill all',
  ].join('\n');
  const env = { ...process.env };
  delete env.CEREMONY_PIN;
  const r = spawnSync('bash', ['-c', script], { cwd: work, encoding: 'utf8', env });
  expect(r.status, r.stderr + r.stdout).toBe(0);
  expect(r.stdout).toMatch(/^intact: .*, a pinned certificate; the ceremony completed$/m);
  expect(readdirSync(join(work, 'my-signed'))).toEqual(['version.txt.sig']);
}, 240_000);

it('refuses a --dir that already holds something', () => {
  expectCleanError(runCeremony(['demo', '--dir', join(dir, 'd')]), 'OUTPUT_EXISTS', 2);
});
