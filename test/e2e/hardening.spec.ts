/**
 * The renderer's Content-Security-Policy as Chromium enforces it on the real built app (served by the real
 * app:// handler, header and meta tag): injected inline script, requests to a loopback server or the
 * internet, remote images and frames are all refused. (eval cannot be probed from here: Playwright's own
 * evaluation channel is exempt; the policy's lack of 'unsafe-eval' is asserted in the unit tests.)
 */
import { expect, test } from '@playwright/test';
import { openApp } from './bridge.js';
import { makeFixture, type CeremonyFixture } from './fixtures.js';

let f: CeremonyFixture;
test.beforeAll(async () => {
  f = await makeFixture();
});
test.afterAll(() => f.cleanup());

test('injected script, loopback and remote requests, remote images and frames are refused by the CSP', async ({ page }) => {
  const csp: string[] = [];
  page.on('console', (m) => m.text().includes('Content Security Policy') && csp.push(m.text()));
  const app = await openApp(page, { env: f.env, answers: {} });
  try {
    await expect(page.getByRole('heading', { name: 'Signing ceremony' })).toBeVisible();
    const result = await page.evaluate(async () => {
      const w = window as unknown as Record<string, unknown>;
      const s = document.createElement('script');
      s.textContent = 'window.__injected = true';
      document.body.appendChild(s);
      const loopback = await fetch('http://127.0.0.1:9/').then(() => 'loaded', () => 'refused');
      const remote = await fetch('https://example.org/').then(() => 'loaded', () => 'refused');
      const img = await new Promise((resolve) => {
        const i = new Image();
        i.onload = () => resolve('loaded');
        i.onerror = () => resolve('refused');
        i.src = 'https://example.org/pixel.png';
      });
      return { injected: w.__injected === true, loopback, remote, img };
    });
    expect(result).toEqual({ injected: false, loopback: 'refused', remote: 'refused', img: 'refused' });
    await page.evaluate(() => {
      const frame = document.createElement('iframe');
      frame.src = 'https://example.org/';
      document.body.appendChild(frame);
    });
    await expect.poll(() => csp.some((t) => /frame-src|default-src/.test(t))).toBe(true);
    // Nothing the page tried got past the CSP to the network layer either.
    expect(app.blocked).toEqual([]);
  } finally {
    await app.close();
  }
});
