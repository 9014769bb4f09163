/**
 * Layout checks shared by the e2e tests: at 1280×800 (playwright.config.ts) no workspace scrolls sideways,
 * and every workspace's screenshot is kept as a test artifact (attached to the test and written under
 * test-results/screenshots/, which Playwright does not empty) for a person to look at.
 */
import { mkdirSync } from 'node:fs';
import { expect, type Page, type TestInfo } from '@playwright/test';

export const SCREENSHOTS = 'test-results/screenshots';

/** Sideways overflow of the page, the visible workspace, its work column, every table and open dialog in it. */
export async function horizontalOverflow(page: Page): Promise<{ what: string; scrollWidth: number; clientWidth: number }[]> {
  return page.evaluate(() => {
    const out: { what: string; scrollWidth: number; clientWidth: number }[] = [];
    const check = (what: string, el: Element | null) => {
      if (el && el.scrollWidth > el.clientWidth) out.push({ what, scrollWidth: el.scrollWidth, clientWidth: el.clientWidth });
    };
    check('document', document.documentElement);
    const panel = document.querySelector('[role="tabpanel"]:not([hidden])');
    check(`workspace ${panel?.id}`, panel);
    check('work column', panel?.querySelector('.work') ?? null);
    // A table wider than its column, or a cell whose content spills over its neighbours (fixed layouts clip
    // nothing: an unbreakable hash would run over the next column).
    panel?.querySelectorAll('table').forEach((t) => {
      const width = Math.floor(t.getBoundingClientRect().width);
      const room = t.parentElement?.clientWidth ?? 0;
      if (width > room) out.push({ what: `table ${t.getAttribute('aria-label')}`, scrollWidth: width, clientWidth: room });
      t.querySelectorAll('td, th').forEach((c, i) => check(`table ${t.getAttribute('aria-label')} cell ${i}: ${(c.textContent ?? '').slice(0, 40)}`, c));
    });
    document.querySelectorAll('dialog[open]').forEach((d) => check(`dialog ${d.getAttribute('aria-labelledby')}`, d));
    return out;
  });
}

/** Assert that nothing scrolls sideways, naming what overflows when something does. */
export async function expectNoHorizontalScroll(page: Page): Promise<void> {
  const [size] = [page.viewportSize()];
  expect(size).toEqual({ width: 1280, height: 800 });
  expect(await horizontalOverflow(page)).toEqual([]);
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
  expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
}

/** A full-page screenshot kept as an artifact of the test and under test-results/screenshots/NAME.png. */
export async function keepScreenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = `${SCREENSHOTS}/${name}.png`;
  // From the top, so the sticky step list is drawn where a person first sees it.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}
