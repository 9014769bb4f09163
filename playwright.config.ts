// End-to-end tests of the app (issue 7): the real renderer, built with Vite, in Debian's Chromium, its
// preload API bridged to the real main-process handlers in the test process (test/e2e/bridge.ts).
// `npm run test:e2e` compiles with tsc first; global-setup builds the renderer. Never `playwright install`.
import { defineConfig } from '@playwright/test';

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export default defineConfig({
  testDir: 'test/e2e',
  testMatch: '**/*.spec.ts',
  outputDir: 'test-results/e2e',
  globalSetup: './test/e2e/global-setup.ts',
  timeout: 180_000,
  expect: { timeout: 60_000 },
  workers: 1,
  fullyParallel: false,
  // The JSON report sits beside vitest's (test-results/vitest.json) for scripts/test-summary.mjs; outputDir
  // stays a subfolder because Playwright empties it at start.
  reporter: [['list'], ['json', { outputFile: 'test-results/playwright.json' }]],
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS },
    screenshot: 'only-on-failure',
    trace: 'off',
    colorScheme: 'light',
    // The size the app is checked at (issue 13): nothing may scroll sideways in a 1280×800 window.
    viewport: { width: 1280, height: 800 },
  },
});
