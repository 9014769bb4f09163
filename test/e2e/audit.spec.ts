/**
 * Audit workspace on a real record: the init ceremony's sealed record, opened in the app, reviewed by the
 * core (hash chain, seal, artifacts, policy), shown as verdict, timeline and findings, exported as HTML and PDF.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { openApp } from './bridge.js';
import { makeFixture, runInit, type CeremonyFixture } from './fixtures.js';

let f: CeremonyFixture;
test.beforeAll(async () => {
  f = await makeFixture();
});
test.afterAll(() => f.cleanup());

test('an auditor opens the init record, sees it intact with its timeline, and exports the report as HTML and PDF', async ({ page }) => {
  const { record } = runInit(f);
  const html = join(f.dir, 'report.html');
  const pdf = join(f.dir, 'report.pdf');
  const app = await openApp(page, { env: f.env, answers: { config: f.config, record, 'save-report': [html, pdf] } });
  try {
    await page.getByRole('button', { name: 'Open configuration…' }).click();
    await expect(page.getByTestId('config-loaded')).toContainText('quorum 3 of 5');
    await page.getByRole('tab', { name: 'Audit' }).click();
    await page.getByRole('button', { name: 'Open a record…' }).click();
    await expect(page.getByTestId('verdict')).toHaveText('INTACT');
    const timeline = page.getByRole('table', { name: 'Timeline' });
    await expect(timeline.getByRole('row').nth(1)).toContainText('ceremony-start');
    await expect(timeline).toContainText('seal');
    await expect(page.getByRole('navigation', { name: 'Audit steps' }).locator('[data-step="ceremony-end"]')).toHaveAttribute('data-state', 'done');
    await page.screenshot({ path: 'test-results/screenshots/audit.png', fullPage: true });

    await page.getByRole('button', { name: 'Export report (HTML)…' }).click();
    await expect(page.getByRole('list', { name: 'Exported reports' })).toContainText('HTML saved as');
    await page.getByRole('button', { name: 'Export report (PDF)…' }).click();
    await expect(page.getByRole('list', { name: 'Exported reports' })).toContainText('PDF saved as');
    expect(readFileSync(html, 'utf8')).toMatch(/intact/i);
    expect(existsSync(pdf) && readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    expect(app.blocked).toEqual([]);
  } finally {
    await app.close();
  }
});
