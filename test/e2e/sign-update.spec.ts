/**
 * Sign update on real material: the inbox holds release files signed by the (pinned) build-server key
 * with their signed DIGESTS, one of them altered after signing. The app shows each verdict with
 * its reason, signer fingerprint and SHA-256 (verified by the core in the worker), excludes the rejected
 * file, asks for the PIN in a dialog, refuses to start the ceremony on a networked machine until the
 * operator overrides, then signs on the SoftHSM token, shows the outputs with their self-check, and opens
 * the sealed record in Audit. The first part is driven from the keyboard alone.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { openApp } from './bridge.js';
import { makeFixture, makeInbox, runInit, SIGNING_PIN, type CeremonyFixture } from './fixtures.js';

let f: CeremonyFixture;
test.beforeAll(async () => {
  f = await makeFixture();
});
test.afterAll(() => f.cleanup());

test('a maintainer signs an update: the inbox verified file by file, a tampered file rejected with its reason, the rest signed on the HSM, the record intact', async ({ page }) => {
  runInit(f); // the signing token gets its first OpenPGP signing subkey from the init ceremony
  const { inbox, files, tampered } = await makeInbox(f);
  const good = files.filter((n) => n !== tampered);
  const app = await openApp(page, {
    env: f.env,
    airGap: { airGapped: false, interfacesUp: ['eth0'] },
    answers: { config: f.config, inbox, 'out-dir': join(f.dir, 'signed') },
  });
  try {
    await expect(page.getByTestId('airgap-banner')).toContainText('error[NETWORK_UP]');

    // Keyboard only: focus the config button, Enter; arrow keys move between workspaces.
    await page.getByRole('button', { name: 'Open configuration…' }).focus();
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('config-loaded')).toContainText('Example Image Signing Key');
    await page.getByRole('tab', { name: 'Sign update' }).focus();
    await page.keyboard.press('ArrowRight');
    await expect(page.getByRole('tab', { name: 'Renew key' })).toHaveAttribute('aria-selected', 'true');
    await page.keyboard.press('ArrowLeft');
    await expect(page.getByRole('tab', { name: 'Sign update' })).toHaveAttribute('aria-selected', 'true');
    await page.keyboard.press('Tab');
    await expect(page.getByRole('button', { name: 'Choose inbox folder…' })).toBeFocused();
    await page.keyboard.press('Enter');

    const table = page.getByRole('table', { name: 'Inbox files' });
    for (const name of good) {
      const row = table.locator(`tr[data-file="${name}"]`);
      await expect(row).toHaveAttribute('data-status', 'VERIFIED');
      const sha = createHash('sha256').update(readFileSync(join(inbox, name))).digest('hex');
      await expect(row.getByLabel(`SHA-256 of ${name}`)).toHaveAttribute('data-value', sha);
      await expect(row.getByLabel('signer')).toHaveAttribute('data-value', /^[0-9A-F]{40}$/);
    }
    const bad = table.locator(`tr[data-file="${tampered}"]`);
    await expect(bad).toHaveAttribute('data-status', 'REJECTED');
    await expect(bad).toContainText(/error\[(SIGNATURE_INVALID|DIGEST_MISMATCH)\]/);
    await expect(page.getByTestId('rejected-note')).toContainText(tampered);
    // The key that will sign, read aloud before any PIN: the init ceremony's signing subkey.
    const keyFingerprint = await page.getByRole('tabpanel', { name: 'Sign update' }).getByLabel('signing key fingerprint').getAttribute('data-value');
    expect(keyFingerprint).toMatch(/^[0-9A-F]{40}$/);
    await expect(page.getByRole('navigation', { name: 'Sign update steps' }).locator('[data-step="verify-input"]')).toHaveAttribute('data-state', 'failed');
    await page.screenshot({ path: 'test-results/screenshots/sign-update.png', fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: 'test-results/screenshots/sign-update-dark.png', fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });

    // Only the verified file is offered for signing; the PIN goes in a dialog and is cleared from it.
    await page.getByRole('button', { name: `Sign ${good.length} file${good.length === 1 ? '' : 's'}…` }).click();
    const pinDialog = page.getByRole('dialog', { name: 'Signing token PIN' });
    await pinDialog.getByLabel('PIN').fill(SIGNING_PIN);
    await pinDialog.getByLabel('PIN').press('Enter');
    await expect(pinDialog).toBeHidden();
    // No PIN left anywhere in the page: every secret input is empty once the dialog closed.
    const secrets = await page.locator('dialog input[type="password"]').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
    expect(secrets.length).toBeGreaterThan(0);
    expect(secrets.every((v) => v === '')).toBe(true);
    expect(await page.content()).not.toContain(SIGNING_PIN);
    const panel = page.getByRole('tabpanel', { name: 'Sign update' });
    await expect(panel.getByRole('alert')).toContainText('error[NETWORK_UP]');
    expect(app.dialogs).not.toContain('out-dir');

    // The operator overrides (recorded), signs with the PIN; the core re-verifies, signs on the HSM,
    // self-checks and seals the record.
    await page.getByRole('button', { name: 'Go on with the network up (recorded)' }).click();
    await panel.getByRole('button', { name: /^Sign \d+ files?…$/ }).click();
    await pinDialog.getByLabel('PIN').fill(SIGNING_PIN);
    await pinDialog.getByRole('button', { name: 'Sign', exact: true }).click();
    const outputs = panel.getByRole('table', { name: 'Outputs' });
    for (const name of good) {
      const row = outputs.locator(`tr[data-output="${name}.sig"]`);
      await expect(row).toContainText('OK');
      const sig = readFileSync(join(f.dir, 'signed', `${name}.sig`));
      await expect(row.locator('.fingerprint')).toHaveAttribute('data-value', createHash('sha256').update(sig).digest('hex'));
    }
    expect(existsSync(join(f.dir, 'signed', `${tampered}.sig`))).toBe(false);
    await expect(panel.getByLabel('signing key fingerprint').last()).toHaveAttribute('data-value', keyFingerprint!);
    await expect(page.getByRole('navigation', { name: 'Sign update steps' }).locator('[data-step="seal"]')).toHaveAttribute('data-state', 'done');
    await page.screenshot({ path: 'test-results/screenshots/sign-update-signed.png', fullPage: true });

    await panel.getByRole('button', { name: 'Open the record' }).click();
    await expect(page.getByTestId('verdict')).toHaveText('INTACT');
    const timeline = page.getByRole('table', { name: 'Timeline' });
    await expect(timeline).toContainText('verify-input');
    await expect(timeline).toContainText('self-check');
    expect(app.blocked).toEqual([]);
  } finally {
    await app.close();
  }
});
