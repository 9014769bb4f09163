/** `ceremony demo` runs the whole year end to end, as the README's first command does. */
import { afterAll, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCeremony, expectCleanError } from '../../helpers/cli.js';
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
  for (const r of result.records) expect(readFileSync(r.report, 'utf8')).toMatch(/<!DOCTYPE html>/);
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

it('refuses a --dir that already holds something', () => {
  expectCleanError(runCeremony(['demo', '--dir', join(dir, 'd')]), 'OUTPUT_EXISTS', 2);
});
