/**
 * The same app under a real Electron binary, through Playwright's _electron.launch: the hardening as
 * Electron applies it, and the Audit flow end to end (utility-process worker, printToPDF). These run only
 * where an Electron binary is installed (and pkcs11js rebuilt for it: `npx electron-rebuild -f -w pkcs11js`);
 * here, where the binary cannot be downloaded, they report "skipped: no Electron binary".
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test';
import { makeFixture, runInit, type CeremonyFixture } from './fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** node_modules/electron exports the binary's path, and throws when the binary was never downloaded. */
function electronBinary(): string | null {
  // Electron 45 downloads its binary on the first require() when path.txt is missing: never from a test.
  if (!existsSync(join(ROOT, 'node_modules/electron/path.txt'))) return null;
  try {
    const path = createRequire(import.meta.url)('electron') as unknown;
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}
const binary = electronBinary();
if (!binary) console.log('skipped: no Electron binary (the Chromium e2e tests drive the same renderer and main-process handlers)');

test.describe('under Electron', () => {
  test.skip(!binary, 'skipped: no Electron binary');

  let f: CeremonyFixture;
  let app: ElectronApplication;
  let page: Page;
  let record: string;

  test.beforeAll(async () => {
    f = await makeFixture();
    record = runInit(f).record;
    const env = Object.fromEntries(Object.entries(f.env).filter((e): e is [string, string] => e[1] !== undefined));
    app = await electron.launch({ executablePath: binary!, args: [ROOT], env, cwd: ROOT });
    page = await app.firstWindow();
    // Native dialogs answered by their title, in the main process (test code only).
    await app.evaluate(({ dialog }, answers) => {
      const pick = (title?: string) => Object.entries(answers).find(([t]) => title?.startsWith(t))?.[1];
      dialog.showOpenDialog = (async (...args: unknown[]) => {
        const opts = args.at(-1) as { title?: string };
        const p = pick(opts.title);
        return { canceled: !p, filePaths: p ? [p] : [] };
      }) as typeof dialog.showOpenDialog;
      dialog.showSaveDialog = (async (...args: unknown[]) => {
        const opts = args.at(-1) as { title?: string };
        const p = pick(opts.title);
        return { canceled: !p, filePath: p ?? '' };
      }) as typeof dialog.showSaveDialog;
    }, { 'Open the ceremony configuration': f.config, 'Open a ceremony record folder': record, 'Save the report as PDF': join(f.dir, 'report.pdf') });
  });
  test.afterAll(async () => {
    await app?.close();
    f?.cleanup();
  });

  test('the window is sandboxed and isolated, loaded from app://, with nothing of Node in the renderer', async () => {
    expect(page.url()).toBe('app://app/index.html');
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);
    expect(await page.evaluate(() => [typeof (globalThis as { require?: unknown }).require, typeof (globalThis as { process?: unknown }).process])).toEqual(['undefined', 'undefined']);
    // contextIsolation: the page sees the frozen API object the preload exposed, not the preload's world.
    expect(await page.evaluate(() => [Object.isFrozen(window.ceremony), typeof (window as { ipcRenderer?: unknown }).ipcRenderer])).toEqual([true, 'undefined']);
    expect(await page.evaluate(() => Object.keys(window.ceremony).sort())).toContain('signRun');
  });

  test('a navigation, a window.open and a request to http://127.0.0.1 are denied', async () => {
    expect(await page.evaluate(() => window.open('https://example.org/'))).toBeNull();
    await page.evaluate(() => {
      location.href = 'https://example.org/';
    });
    await expect(page.getByRole('heading', { name: 'Signing ceremony' })).toBeVisible();
    expect(page.url()).toBe('app://app/index.html');
    expect(await page.evaluate(() => fetch('http://127.0.0.1:9/').then(() => 'loaded', () => 'refused'))).toBe('refused');
    expect(app.windows()).toHaveLength(1);
  });

  test('an auditor opens the init record and exports the PDF through printToPDF', async () => {
    await page.getByRole('button', { name: 'Open configuration…' }).click();
    await expect(page.getByTestId('config-loaded')).toContainText('quorum 3 of 5');
    await page.getByRole('tab', { name: 'Audit' }).click();
    await page.getByRole('button', { name: 'Open a record…' }).click();
    await expect(page.getByTestId('verdict')).toHaveAttribute('data-verdict', 'intact');
    await page.getByRole('button', { name: 'Export report (PDF)…' }).click();
    await expect(page.getByRole('list', { name: 'Exported reports' })).toContainText('PDF saved as');
    expect(readFileSync(join(f.dir, 'report.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
    await page.screenshot({ path: 'test-results/screenshots/electron-audit.png', fullPage: true });
  });
});
