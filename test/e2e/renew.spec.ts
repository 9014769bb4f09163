/**
 * Renew key on real SoftHSM tokens: the root of trust made by the real `ceremony init`, then in the app the
 * quorum session ID confirmed, shares presented one by one (words from paper, pasted text, a file, an encrypted share opened
 * with the custodian's key file and passphrase) with a mistyped share refused and named, 3 of 5 reached, the renewal run by the core in the worker, the new
 * shares handed out one custodian at a time, and the renewal's record opened in Audit.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { openApp } from './bridge.js';
import { expectNoHorizontalScroll, keepScreenshot } from './layout.js';
import { CUSTODIANS, DAVE_PASSPHRASE, makeFixture, runInit, SIGNING_PIN, type CeremonyFixture } from './fixtures.js';

let f: CeremonyFixture;
test.beforeAll(async () => {
  f = await makeFixture();
});
test.afterAll(() => f.cleanup());

/** One hex digit of the share's data changed, as a custodian copying it by hand might. */
function mistype(share: string): string {
  return share.replace(/^(Data: )([0-9a-f])/m, (_m, p: string, d: string) => p + (d === '0' ? '1' : '0'));
}

test('custodians renew the signing key with 3 of 5 shares; a mistyped share is refused and named', async ({ page }, testInfo) => {
  const { shares } = runInit(f);
  const handOut = CUSTODIANS.map((c) => join(f.dir, `handed-${c}.share`));
  const app = await openApp(page, {
    env: f.env,
    // The test machine is networked: the ceremony is refused until the operator overrides (recorded).
    airGap: { airGapped: false, interfacesUp: ['eth0'] },
    answers: {
      config: f.config,
      'share-file': [join(shares, 'bob.share'), join(shares, 'dave.share.asc')],
      'share-key': join(f.dir, 'custodians', 'dave.key.asc'),
      'out-dir': join(f.dir, 'renew'),
      'save-share': [...handOut],
    },
  });
  try {
    await page.getByRole('button', { name: 'Open configuration…' }).click();
    await expect(page.getByTestId('config-loaded')).toContainText('quorum 3 of 5');
    await page.getByRole('tab', { name: 'Renew key' }).click();
    const panel = page.getByRole('tabpanel', { name: 'Renew key' });

    await panel.getByRole('button', { name: 'Open the renewal' }).click();
    await expect(panel.getByRole('alert')).toContainText('error[NETWORK_UP]');
    await page.getByRole('button', { name: 'Go on with the network up (recorded)' }).click();
    await expect(page.getByTestId('airgap-banner')).toContainText('You chose to go on anyway');

    await panel.getByRole('button', { name: 'Open the renewal' }).click();
    const id = await panel.getByLabel('quorum session ID').getAttribute('data-value');
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    // "yes", as the CLI once asked, gets a sentence saying what to type, never "malformed request".
    await panel.getByLabel(/type it here to confirm/).fill('yes');
    await panel.getByRole('button', { name: 'Confirm session ID' }).click();
    await expect(panel.getByRole('alert')).toContainText('type the session ID itself');
    await expect(panel.getByRole('alert')).not.toContainText('malformed');
    await expectNoHorizontalScroll(page);
    await keepScreenshot(page, testInfo, 'renew-session');
    await panel.getByLabel(/type it here to confirm/).fill('0000-0000-0000-0000-0000-0000-0000-0000');
    await panel.getByRole('button', { name: 'Confirm session ID' }).click();
    await expect(panel.getByRole('alert')).toContainText('error[QUORUM_MISMATCH]');
    await panel.getByLabel(/type it here to confirm/).fill(id!.match(/.{4}/g)!.join('-'));
    await panel.getByRole('button', { name: 'Confirm session ID' }).click();
    await expect(panel.getByTestId('share-progress')).toHaveText('0/3');

    const shareBox = panel.getByLabel(/Type or paste a share/);
    // alice reads her share as PGP words from paper. A share is a secret: masked like a password, shown
    // only while "Hold to show" is held down.
    const aliceWords = readFileSync(join(shares, 'alice.share.words'), 'utf8');
    await shareBox.fill(aliceWords);
    const masking = () => shareBox.evaluate((el) => getComputedStyle(el).getPropertyValue('-webkit-text-security'));
    expect(await masking()).toBe('disc');
    await expect(shareBox).toHaveAttribute('data-masked', 'true');
    await keepScreenshot(page, testInfo, 'renew-share-masked');
    const hold = panel.getByRole('button', { name: 'Hold to show' });
    await hold.hover();
    await page.mouse.down();
    await expect(shareBox).toHaveAttribute('data-masked', 'false');
    expect(await masking()).toBe('none');
    await page.mouse.up();
    await expect(shareBox).toHaveAttribute('data-masked', 'true');
    expect(await masking()).toBe('disc');
    await panel.getByRole('button', { name: 'Add share', exact: true }).click();
    await expect(panel.getByTestId('share-progress')).toHaveText('1/3');
    await expect(shareBox).toHaveValue('');

    await shareBox.fill(mistype(readFileSync(join(shares, 'bob.share'), 'utf8')));
    await panel.getByRole('button', { name: 'Add share', exact: true }).click();
    const refusal = panel.getByRole('alert');
    await expect(refusal).toContainText(/error\[SHARE_(INVALID|MALFORMED)\]/);
    await expect(refusal).toContainText('bob');
    await expect(panel.getByTestId('share-progress')).toHaveText('1/3');
    await expect(shareBox).toHaveValue('');
    await expectNoHorizontalScroll(page);
    await keepScreenshot(page, testInfo, 'renew-shares');

    await panel.getByRole('button', { name: 'Add share from file…' }).click();
    await expect(panel.getByTestId('share-progress')).toHaveText('2/3');
    // dave's share is encrypted to his key: his key file and passphrase open it, in main, never here.
    await panel.getByRole('button', { name: 'Add encrypted share…' }).click();
    const passDialog = page.getByRole('dialog', { name: "Custodian's key passphrase" });
    await passDialog.getByLabel('Passphrase').fill(DAVE_PASSPHRASE);
    await passDialog.getByRole('button', { name: 'Decrypt share' }).click();
    await expect(panel.getByTestId('share-progress')).toHaveText('3/3');
    await expect(panel.getByRole('list', { name: 'Accepted shares' })).toContainText('share 4 of dave');
    expect(await page.content()).not.toContain(DAVE_PASSPHRASE);

    await panel.getByRole('button', { name: 'Renew the signing key…' }).click();
    const pinDialog = page.getByRole('dialog', { name: 'Signing token PIN' });
    await pinDialog.getByLabel('PIN').fill(SIGNING_PIN);
    await pinDialog.getByRole('button', { name: 'Renew', exact: true }).click();
    await expect(pinDialog).toBeHidden();
    await expect(panel.getByLabel('new subkey fingerprint')).toBeVisible({ timeout: 150_000 });
    await expect(page.getByRole('navigation', { name: 'Renew key steps' }).locator('[data-step="rotate-pins"]')).toHaveAttribute('data-state', 'done');

    for (const [i, c] of CUSTODIANS.entries()) {
      await panel.getByRole('button', { name: `Save the new share of ${c}…` }).click();
      await expect(panel.getByRole('list', { name: 'Handed out shares' })).toContainText(`${c}: saved`);
      // dave's new share is encrypted to his key again; the others are plain envelopes.
      expect(readFileSync(handOut[i]!, 'utf8')).toContain(c === 'dave' ? '-----BEGIN PGP MESSAGE-----' : `Custodian: ${c}`);
    }
    await expect(page.getByRole('navigation', { name: 'Renew key steps' }).locator('[data-step="hand-out-share"]')).toHaveAttribute('data-state', 'done');
    await expectNoHorizontalScroll(page);
    await keepScreenshot(page, testInfo, 'renew-done');
    expect(existsSync(join(f.dir, 'renew', 'transition.json.asc'))).toBe(true);

    await panel.getByRole('button', { name: 'Open the record' }).click();
    await expect(page.getByTestId('verdict')).toHaveAttribute('data-verdict', 'intact');
    await expect(page.getByTestId('verdict')).toHaveText('INTACT — SEAL NOT PINNED');
    const timeline = page.getByRole('table', { name: 'Timeline' });
    await expect(timeline).toContainText('share-accepted');
    // The share refused in the app reached the ceremony, which refused it again and recorded it, naming bob.
    const refusedRow = timeline.locator('tr', { hasText: 'share-refused' });
    await expect(refusedRow).toHaveCount(1);
    await expect(refusedRow).toContainText('bob');
    await expect(refusedRow).toContainText('refused');
    expect(app.blocked).toEqual([]);
  } finally {
    await app.close();
  }
});
