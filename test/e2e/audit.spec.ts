/**
 * Audit workspace on real records. The init ceremony's sealed record, opened in the app and reviewed by the
 * core (hash chain, seal, artifacts, policy): without a pinned certificate it is intact but never shown with
 * the green badge; with the root certificate pinned (chosen in main, checked) it is; a secret key is refused
 * as a pin and a stranger's certificate makes the seal untrusted; the artifacts are checked in a folder the
 * auditor chooses (a copy elsewhere), and a changed copy makes the record tampered. A sign ceremony that
 * refused a tampered input reviews as refused, not incomplete; one stopped by a wrong PIN, whose seal key is
 * behind that PIN, reviews as refused-unsealed with a badge of its own. Reports export as HTML and PDF.
 */
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { runCeremony } from '../helpers/cli.js';
import { openApp } from './bridge.js';
import { makeFixture, makeInbox, runInit, SIGNING_PIN, type CeremonyFixture } from './fixtures.js';
import { expectNoHorizontalScroll, keepScreenshot } from './layout.js';

let f: CeremonyFixture;
let record: string;
/** One inbox per fixture (makeInbox makes its folder once), whichever test asks first. */
let inboxMade: Awaited<ReturnType<typeof makeInbox>> | undefined;
const inboxOf = async () => (inboxMade ??= await makeInbox(f));
test.beforeAll(async () => {
  f = await makeFixture();
  record = runInit(f).record;
});
test.afterAll(() => f.cleanup());

test('an auditor opens the init record: intact but not pinned, then pinned to the root certificate; artifacts checked in a chosen folder; reports exported', async ({ page }, testInfo) => {
  const html = join(f.dir, 'report.html');
  const pdf = join(f.dir, 'report.pdf');
  // The init outputs, copied to "another machine", once as written and once with one byte changed.
  const copy = join(f.dir, 'elsewhere');
  cpSync(join(f.dir, 'init'), copy, { recursive: true });
  const changed = join(f.dir, 'elsewhere-changed');
  cpSync(join(f.dir, 'init'), changed, { recursive: true });
  appendFileSync(join(changed, 'certificate.asc'), '\n');
  const app = await openApp(page, {
    env: f.env,
    answers: {
      config: f.config,
      record,
      'pin-certificate': [join(f.dir, 'custodians', 'dave.key.asc'), join(f.dir, 'custodians', 'dave.asc'), join(f.dir, 'init', 'certificate.asc')],
      artifacts: [copy, changed],
      'save-report': [html, pdf],
    },
  });
  try {
    await page.getByRole('button', { name: 'Open configuration…' }).click();
    await expect(page.getByTestId('config-loaded')).toContainText('quorum 3 of 5');
    await page.getByRole('tab', { name: 'Audit' }).click();
    const panel = page.getByRole('tabpanel', { name: 'Audit' });
    await panel.getByRole('button', { name: 'Open a record…' }).click();
    const verdict = page.getByTestId('verdict');
    // Unpinned: the seal agrees with the keys the record carries, which a forger could have replaced.
    await expect(verdict).toHaveAttribute('data-verdict', 'intact');
    await expect(verdict).toHaveText('INTACT — SEAL NOT PINNED');
    await expect(verdict).toHaveAttribute('data-tone', 'unpinned');
    const green = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--ok').trim());
    expect(await verdict.evaluate((el) => getComputedStyle(el).color)).not.toBe(await page.evaluate((c) => {
      const probe = document.createElement('span');
      probe.style.color = c;
      document.body.append(probe);
      const rgb = getComputedStyle(probe).color;
      probe.remove();
      return rgb;
    }, green));
    await expect(panel.getByTestId('seal-not-pinned')).toBeVisible();
    const timeline = page.getByRole('table', { name: 'Timeline' });
    await expect(timeline.getByRole('row').nth(1)).toContainText('ceremony-start');
    await expect(timeline).toContainText('seal');
    await expectNoHorizontalScroll(page);
    await keepScreenshot(page, testInfo, 'audit-unpinned');

    // A secret key is never pinned (main asks the worker to check the file first).
    await panel.getByRole('button', { name: 'Pin a certificate…' }).click();
    await expect(panel.getByRole('alert')).toContainText('error[CERTIFICATE_MALFORMED]');
    await expect(panel.getByRole('alert')).toContainText('secret key material');
    await expect(verdict).toHaveText('INTACT — SEAL NOT PINNED');
    // A stranger's certificate pinned: the seal is not by it.
    await panel.getByRole('button', { name: 'Pin a certificate…' }).click();
    await expect(verdict).not.toHaveAttribute('data-verdict', 'intact');
    await expect(verdict).toHaveAttribute('data-tone', 'failed');
    // The root certificate pinned: now, and only now, the green badge.
    await panel.getByRole('button', { name: 'Pin a certificate…' }).click();
    await expect(verdict).toHaveText('INTACT');
    await expect(verdict).toHaveAttribute('data-pinned', 'true');
    await expect(verdict).toHaveAttribute('data-tone', 'intact');
    await expect(panel.getByTestId('pinned-certificate')).toContainText('certificate.asc');
    await expect(page.getByRole('navigation', { name: 'Audit steps' }).locator('[data-step="ceremony-end"]')).toHaveAttribute('data-state', 'done');

    // The artifacts, looked for in a folder the auditor chose.
    await panel.getByRole('button', { name: 'Check the artifacts in a folder…' }).click();
    const artifacts = panel.getByRole('table', { name: 'Artifacts' });
    await expect(panel).toContainText(`Looked for in ${copy}`);
    await expect(artifacts.locator('tr[data-artifact="certificate.asc"]')).toHaveAttribute('data-status', 'match');
    await expect(verdict).toHaveText('INTACT');
    await expectNoHorizontalScroll(page);
    await keepScreenshot(page, testInfo, 'audit-pinned');
    await panel.getByRole('button', { name: 'Check the artifacts in a folder…' }).click();
    await expect(artifacts.locator('tr[data-artifact="certificate.asc"]')).toHaveAttribute('data-status', 'mismatch');
    await expect(verdict).toHaveAttribute('data-verdict', 'tampered');
    await expect(panel.getByRole('list', { name: 'Findings' })).toContainText('artifact-mismatch');
    await keepScreenshot(page, testInfo, 'audit-artifact-changed');

    await panel.getByRole('button', { name: 'Export report (HTML)…' }).click();
    await expect(panel.getByRole('list', { name: 'Exported reports' })).toContainText('HTML saved as');
    await panel.getByRole('button', { name: 'Export report (PDF)…' }).click();
    await expect(panel.getByRole('list', { name: 'Exported reports' })).toContainText('PDF saved as');
    expect(readFileSync(html, 'utf8')).toMatch(/tampered/i);
    expect(existsSync(pdf) && readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    expect(app.blocked).toEqual([]);
  } finally {
    await app.close();
  }
});

test('a sign ceremony that refused a tampered input reviews as refused in the Audit workspace, not as incomplete', async ({ page }, testInfo) => {
  const { inbox, tampered } = await inboxOf();
  const records = join(f.dir, 'refusals');
  mkdirSync(records);
  const pinFile = join(f.dir, 'refusal.pin');
  writeFileSync(pinFile, SIGNING_PIN, { mode: 0o600 });
  // The signing subkey the init ceremony made, by the label its record names.
  const events = readFileSync(join(record, 'log.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { step: string; key?: { label?: string } });
  const label = events.find((e) => e.step === 'generate-key' && e.key?.label && e.key.label !== 'root-key')!.key!.label!;
  const r = runCeremony(
    ['sign', '--key', `pkcs11:token=signing;object=${label}`, '--trusted-key', join(f.dir, 'keys', 'build-server.asc'), '--out-dir', join(f.dir, 'refused-out'), '--record-dir', records, '--allow-network', '--pin-file', pinFile, join(inbox, tampered)],
    { env: f.env },
  );
  expect(r.code, r.stderr).toBe(1);
  const [refusal] = readdirSync(records);
  const app = await openApp(page, { env: f.env, answers: { record: join(records, refusal!), 'pin-certificate': join(f.dir, 'init', 'certificate.asc') } });
  try {
    await page.getByRole('tab', { name: 'Audit' }).click();
    const panel = page.getByRole('tabpanel', { name: 'Audit' });
    await panel.getByRole('button', { name: 'Pin a certificate…' }).click();
    await panel.getByRole('button', { name: 'Open a record…' }).click();
    const verdict = page.getByTestId('verdict');
    await expect(verdict).toHaveAttribute('data-verdict', 'refused');
    await expect(verdict).toHaveText('REFUSED');
    await expect(verdict).toHaveAttribute('data-tone', 'refused');
    await expect(page.getByTestId('headline')).toContainText('refused at step');
    await expect(page.getByTestId('summary')).toContainText(tampered);
    await expect(page.getByRole('table', { name: 'Timeline' })).toContainText('refused');
    await expectNoHorizontalScroll(page);
    await keepScreenshot(page, testInfo, 'audit-refused');
  } finally {
    await app.close();
  }
});

test('a sign ceremony stopped by a wrong PIN reviews as refused-unsealed in the Audit workspace: its own badge, never green, and why it is not sealed', async ({ page }, testInfo) => {
  const { inbox, files, tampered } = await inboxOf();
  const records = join(f.dir, 'wrong-pin');
  mkdirSync(records);
  const pinFile = join(f.dir, 'wrong.pin');
  writeFileSync(pinFile, `${SIGNING_PIN}-not`, { mode: 0o600 });
  const events = readFileSync(join(record, 'log.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { step: string; key?: { label?: string } });
  const label = events.find((e) => e.step === 'generate-key' && e.key?.label && e.key.label !== 'root-key')!.key!.label!;
  const r = runCeremony(
    ['sign', '--key', `pkcs11:token=signing;object=${label}`, '--trusted-key', join(f.dir, 'keys', 'build-server.asc'), '--out-dir', join(f.dir, 'wrong-pin-out'), '--record-dir', records, '--allow-network', '--pin-file', pinFile, ...files.filter((n) => n !== tampered).map((n) => join(inbox, n))],
    { env: f.env },
  );
  expect(r.code, r.stderr).toBe(3);
  expect(r.stderr).toContain('error[PIN_INCORRECT]');
  const [refusal] = readdirSync(records);
  const app = await openApp(page, { env: f.env, answers: { record: join(records, refusal!), 'pin-certificate': join(f.dir, 'init', 'certificate.asc') } });
  try {
    await page.getByRole('tab', { name: 'Audit' }).click();
    const panel = page.getByRole('tabpanel', { name: 'Audit' });
    await panel.getByRole('button', { name: 'Pin a certificate…' }).click();
    await panel.getByRole('button', { name: 'Open a record…' }).click();
    const verdict = page.getByTestId('verdict');
    await expect(verdict).toHaveAttribute('data-verdict', 'refused-unsealed');
    await expect(verdict).toHaveText('REFUSED — UNSEALED');
    await expect(verdict).toHaveAttribute('data-tone', 'refused-unsealed');
    await expect(page.getByTestId('headline')).toHaveText('refused at step hsm-login (unsealed)');
    await expect(page.getByTestId('summary')).toContainText('PIN_INCORRECT');
    await expect(page.getByTestId('summary')).toContainText('unsealed: the seal key is behind the PIN the token refused');
    await expect(panel.getByTestId('unsealed-refusal')).toBeVisible();
    await expect(panel.getByTestId('pinned-certificate')).toHaveCount(0);
    await expect(page.getByRole('navigation', { name: 'Audit steps' }).locator('[data-step="ceremony-end"]')).toHaveAttribute('data-state', 'failed');
    // Its own colour: not the green of intact, not the refused or incomplete colours.
    const colour = await verdict.evaluate((el) => getComputedStyle(el).color);
    const resolved = await page.evaluate(() =>
      ['--ok', '--refused', '--warn'].map((v) => {
        const probe = document.createElement('span');
        probe.style.color = getComputedStyle(document.documentElement).getPropertyValue(v).trim();
        document.body.append(probe);
        const rgb = getComputedStyle(probe).color;
        probe.remove();
        return rgb;
      }),
    );
    for (const other of resolved) expect(colour).not.toBe(other);
    await expectNoHorizontalScroll(page);
    await keepScreenshot(page, testInfo, 'audit-refused-unsealed');
  } finally {
    await app.close();
  }
});
