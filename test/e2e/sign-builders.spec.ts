/**
 * Sign update with independent builders (issue 15): the config requires 2 of 3 builders (real GnuPG stand-ins)
 * to agree on each release file. The inbox table shows, under each file, the rule and every builder: agreed,
 * missing with its code, or disagreed with the digest it lists and the one the file has; still fitting 1280 px.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { makeStandInBuilders, type StandInBuilders } from '../helpers/builders.js';
import { openApp } from './bridge.js';
import { expectNoHorizontalScroll, keepScreenshot } from './layout.js';
import { makeFixture, runInit, type CeremonyFixture } from './fixtures.js';

let f: CeremonyFixture;
let b: StandInBuilders;
test.beforeAll(async () => {
  f = await makeFixture();
  b = makeStandInBuilders(['alpha', 'beta', 'gamma']);
});
test.afterAll(() => {
  b?.cleanup();
  f?.cleanup();
});

test('the inbox shows which builders agreed, which disagreed (with the differing digest) and which are missing, per file', async ({ page }, testInfo) => {
  runInit(f);
  // The release, signed by the stand-in build server, whose certificate the config pins.
  copyFileSync(b.cert.server!, join(f.dir, 'keys', 'build-server.asc'));
  const good = Buffer.from(`agreed release ${'x'.repeat(500)}`);
  const bad = Buffer.from(`disputed release ${'y'.repeat(500)}`);
  const goodFile = b.release('agreed.bin', good);
  b.publishDigests(goodFile, b.digestsOf('agreed.bin', good), 'alpha');
  b.publishDigests(goodFile, b.digestsOf('agreed.bin', good), 'beta');
  const badFile = b.release('disputed.bin', bad);
  const sha512 = createHash('sha512').update(bad).digest('hex');
  const flipped = sha512.slice(0, -1) + (sha512.endsWith('0') ? '1' : '0');
  b.publishDigests(badFile, b.digestsOf('disputed.bin', bad), 'alpha');
  b.publishDigests(badFile, b.digestsOf('disputed.bin', bad).replace(sha512, flipped), 'beta');
  const inbox = join(f.dir, 'inbox');
  mkdirSync(inbox);
  for (const n of readdirSync(b.dir).filter((n) => /^(agreed|disputed)\.bin/.test(n))) copyFileSync(join(b.dir, n), join(inbox, n));
  const config = join(f.dir, 'ceremony-builders.json');
  writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(f.config, 'utf8')), builders: { threshold: 2, members: ['alpha', 'beta', 'gamma'].map((name) => ({ name, certificates: [b.cert[name]!] })) } }));

  const app = await openApp(page, { env: f.env, airGap: { airGapped: true, interfacesUp: [] }, answers: { config, inbox } });
  try {
    await page.getByRole('button', { name: 'Open configuration…' }).click();
    await expect(page.getByTestId('config-loaded')).toContainText('Example Image Signing Key');
    await page.getByRole('button', { name: 'Choose inbox folder…' }).click();
    const table = page.getByRole('table', { name: 'Inbox files' });
    await expect(table.locator('tr[data-file="agreed.bin"]')).toHaveAttribute('data-status', 'VERIFIED');
    const agreed = table.getByTestId('builders-agreed.bin');
    await expect(agreed).toHaveAttribute('data-met', 'true');
    await expect(agreed).toContainText('Builders: 2 of 3 agree, 2 required');
    await expect(agreed.locator('[data-builder="alpha"]')).toHaveAttribute('data-state', 'agreed');
    await expect(agreed.locator('[data-builder="beta"]')).toHaveAttribute('data-state', 'agreed');
    await expect(agreed.locator('[data-builder="gamma"]')).toHaveAttribute('data-state', 'missing');
    await expect(agreed.locator('[data-builder="gamma"]')).toContainText('missing [DIGEST_MISSING]');

    await expect(table.locator('tr[data-file="disputed.bin"]')).toHaveAttribute('data-status', 'REJECTED');
    await expect(table.locator('tr[data-file="disputed.bin"]')).toContainText('error[BUILDERS_DISAGREE]');
    const disputed = table.getByTestId('builders-disputed.bin');
    await expect(disputed).toHaveAttribute('data-met', 'false');
    const beta = disputed.locator('[data-builder="beta"]');
    await expect(beta).toHaveAttribute('data-state', 'disagreed');
    await expect(beta.getByLabel('digest beta lists')).toHaveAttribute('data-value', flipped);
    await expect(beta.getByLabel('digest the file has')).toHaveAttribute('data-value', sha512);
    await expect(disputed.locator('[data-builder="alpha"]')).toHaveAttribute('data-state', 'agreed');
    // The builders' DIGESTS are listed as used by the verification, not as left over in the folder.
    await expect(page.getByTestId('supporting')).toContainText('agreed.bin.DIGESTS.alpha.asc');
    await expect(page.getByTestId('unused')).not.toContainText('.DIGESTS.alpha.asc');
    await expectNoHorizontalScroll(page);
    await keepScreenshot(page, testInfo, 'sign-builders');
  } finally {
    await app.close();
  }
});
