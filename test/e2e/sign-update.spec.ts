/**
 * Sign update on real material: the inbox holds release files and an update payload (CrAU), all signed by
 * the (pinned) build-server key with their signed DIGESTS, one release file altered after signing. The app
 * shows each verdict with its reason, signer fingerprint and SHA-256 (verified by the core in the worker)
 * and, while any input is rejected, offers no signing at all and says why; main refuses it too (a renderer
 * calling the API directly is refused by the core, which records the refusal). The maintainer takes the
 * tampered file out of the inbox and chooses it again: everything verifies, one PIN signs the release files
 * (detached OpenPGP signatures) and the payload (with the payload key chosen from the token), each output
 * self-checked, the records intact. The first part is driven from the keyboard alone.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { reviewRecord } from '../../dist/ceremony/audit/review.js';
import { runCeremony } from '../helpers/cli.js';
import { openApp } from './bridge.js';
import { expectNoHorizontalScroll, keepScreenshot } from './layout.js';
import { makeFixture, makeInbox, makePayloadKey, runInit, SIGNING_PIN, type CeremonyFixture } from './fixtures.js';

const PAYLOAD = 'flatcar_test_update.gz';

let f: CeremonyFixture;
test.beforeAll(async () => {
  f = await makeFixture();
});
test.afterAll(() => f.cleanup());

test('a maintainer signs an update: a tampered input stops everything until it is taken out; then the release and the payload are signed on the HSM, the records intact', async ({ page }, testInfo) => {
  runInit(f); // the signing token gets its first OpenPGP signing subkey from the init ceremony
  const payloadKey = makePayloadKey(f, 'payload-2027');
  const { inbox, files, tampered } = await makeInbox(f, { payload: PAYLOAD });
  const good = files.filter((n) => n !== tampered);
  const releases = good.filter((n) => n !== PAYLOAD);
  const records = join(f.dir, 'ceremony-records');
  const signRecords = () => readdirSync(records).filter((n) => /-sign-[0-9a-f]+$/.test(n) && !n.includes('-payload-sign-'));
  const app = await openApp(page, {
    env: f.env,
    airGap: { airGapped: false, interfacesUp: ['eth0'] },
    answers: { config: f.config, inbox, 'out-dir': join(f.dir, 'signed') },
  });
  try {
    await expect(page.getByTestId('airgap-banner')).toContainText('error[NETWORK_UP]');
    await expect(page.getByTestId('airgap-banner')).toContainText('Signing is refused');
    // On the Audit tab the banner does not claim the review is refused: reviewing is not a ceremony.
    await page.getByRole('tab', { name: 'Audit' }).click();
    await expect(page.getByTestId('airgap-banner')).toContainText('Reviewing a record is not a ceremony and works here');
    await expect(page.getByTestId('airgap-banner')).not.toContainText('error[NETWORK_UP]');
    await expectNoHorizontalScroll(page);
    await keepScreenshot(page, testInfo, 'audit-empty-networked');
    await page.getByRole('tab', { name: 'Sign update' }).click();

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

    const panel = page.getByRole('tabpanel', { name: 'Sign update' });
    const table = page.getByRole('table', { name: 'Inbox files' });
    for (const name of good) {
      const row = table.locator(`tr[data-file="${name}"]`);
      await expect(row).toHaveAttribute('data-status', 'VERIFIED');
      const sha = createHash('sha256').update(readFileSync(join(inbox, name))).digest('hex');
      await expect(row.getByLabel(`SHA-256 of ${name}`)).toHaveAttribute('data-value', sha);
      await expect(row.getByLabel('signer')).toHaveAttribute('data-value', /^[0-9A-F]{40}$/);
      // A payload is told by its content (the CrAU magic), not its name: flatcar_production_image.bin is a release file.
      await expect(row.locator('[data-kind]')).toHaveAttribute('data-kind', name === PAYLOAD ? 'payload' : 'release');
    }
    const bad = table.locator(`tr[data-file="${tampered}"]`);
    await expect(bad).toHaveAttribute('data-status', 'REJECTED');
    await expect(bad).toContainText(/error\[(SIGNATURE_INVALID|DIGEST_MISMATCH)\]/);
    // All or nothing: no signing is offered, and the workspace says what to do.
    const note = page.getByTestId('rejected-note');
    await expect(note).toContainText('Nothing will be signed');
    await expect(note).toContainText(tampered);
    await expect(note).toContainText('Take it out of the inbox folder, then choose the inbox folder again.');
    await expect(panel.getByRole('button', { name: /^Sign \d+ files?…$/ })).toBeDisabled();
    // The key that will sign, read aloud before any PIN: the init ceremony's signing subkey.
    const keyFingerprint = await panel.getByLabel('signing key fingerprint').getAttribute('data-value');
    expect(keyFingerprint).toMatch(/^[0-9A-F]{40}$/);
    await expect(page.getByRole('navigation', { name: 'Sign update steps' }).locator('[data-step="verify-input"]')).toHaveAttribute('data-state', 'failed');
    // The key by its label; its percent-encoded PKCS#11 URI only on demand.
    const keyCard = panel.locator('.readaloud .key-card').first();
    const keyLabel = await keyCard.getAttribute('data-key-label');
    expect(keyLabel).toBeTruthy();
    await expect(keyCard.locator('.key-label')).toContainText(keyLabel!);
    await expect(keyCard.locator('.key-validity')).toContainText(/valid from \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    await expect(keyCard.locator('.key-uri code')).toBeHidden();
    await keyCard.getByText('PKCS#11 URI').click();
    await expect(keyCard.locator('.key-uri code')).toBeVisible();
    await expect(keyCard.locator('.key-uri code')).toContainText('pkcs11:token=signing');
    // The Signer and SHA-256 columns, the things to read aloud, are on screen: nothing scrolls sideways.
    await expectNoHorizontalScroll(page);
    for (const name of good) {
      const box = await table.locator(`tr[data-file="${name}"]`).getByLabel(`SHA-256 of ${name}`).boundingBox();
      expect(box!.x + box!.width).toBeLessThanOrEqual(1280);
    }
    await keepScreenshot(page, testInfo, 'sign-update');
    await page.emulateMedia({ colorScheme: 'dark' });
    await keepScreenshot(page, testInfo, 'sign-update-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // A renderer that calls the API anyway is refused by main: first the air gap (before any dialog or
    // HSM work), then, after the recorded override, by the core, which verifies every input of the inbox,
    // signs nothing and records the refusal.
    type Result = { ok: boolean; error?: { code: string; message: string } };
    const listedKey = await panel.locator('select option:not([value=""])').getAttribute('value');
    expect(listedKey).toContain('object=payload-2027');
    const forceSign = () => page.evaluate(([pin, key, confirmedKey]) => (window as never as { ceremony: { signRun(r: unknown): Promise<Result> } }).ceremony.signRun({ pin, confirmedKey, payloadKey: key }), [SIGNING_PIN, listedKey!, keyFingerprint!] as const);
    expect(await forceSign()).toMatchObject({ ok: false, error: { code: 'NETWORK_UP' } });
    expect(app.dialogs).not.toContain('out-dir');
    await page.getByRole('button', { name: 'Go on with the network up (recorded)' }).click();
    const before = signRecords();
    const refused = await forceSign();
    expect(refused).toMatchObject({ ok: false, error: { code: expect.stringMatching(/^(SIGNATURE_INVALID|DIGEST_MISMATCH)$/) } });
    expect(refused.error!.message).toContain('nothing was signed');
    expect(existsSync(join(f.dir, 'signed')) ? readdirSync(join(f.dir, 'signed')) : []).toEqual([]);
    const [refusalRecord] = signRecords().filter((n) => !before.includes(n));
    const refusalLog = readFileSync(join(records, refusalRecord!, 'log.jsonl'), 'utf8');
    expect(refusalLog).toMatch(new RegExp(`"result":"refused".*${tampered.replace(/\./g, '\\.')}`));
    expect(refusalLog).not.toContain('"step":"sign"');
    expect(await page.content()).not.toContain(SIGNING_PIN);

    // The maintainer takes the tampered file off the inbox and chooses the inbox again.
    rmSync(join(inbox, tampered));
    await panel.getByRole('button', { name: 'Choose inbox folder…' }).click();
    await expect(table.locator(`tr[data-file="${tampered}"]`)).toHaveCount(0);
    for (const name of good) await expect(table.locator(`tr[data-file="${name}"]`)).toHaveAttribute('data-status', 'VERIFIED');
    await expect(page.getByTestId('rejected-note')).toHaveCount(0);
    // Only what belongs to a file in the inbox is listed as used; the removed file's signature is not.
    const supporting = page.getByTestId('supporting');
    for (const name of good) await expect(supporting).toContainText(`${name}.sig`);
    await expect(supporting).not.toContainText(`${tampered}.`);
    await expect(page.getByTestId('unused')).toContainText(`${tampered}.sig`);
    // The payload key, listed from the token's public objects (no PIN), chosen and read aloud.
    await panel.getByLabel(/Sign the update payload with/).selectOption({ label: 'payload-2027' });
    await expect(panel.getByLabel('payload key fingerprint')).toHaveAttribute('data-value', /^[0-9A-F]{64}$/);

    // Before any PIN: the key that will sign and every input with its SHA-256 in groups, then an explicit confirmation.
    await panel.getByRole('button', { name: `Sign ${good.length} files…` }).click();
    const confirm = page.getByRole('dialog', { name: 'Confirm before the HSM' });
    await expect(confirm).toBeVisible();
    await expect(page.getByRole('dialog', { name: 'Signing token PIN' })).toBeHidden();
    await expect(confirm.getByLabel(/^key to sign with:/)).toHaveAttribute('data-value', keyFingerprint!);
    await expect(confirm.getByLabel(/^key to sign with:/).locator('.group')).toHaveCount(10);
    const confirmKey = confirm.locator(`.key-card[data-key-label="${keyLabel}"]`);
    await expect(confirmKey.locator('.key-label')).toContainText('OpenPGP signing subkey');
    await expect(confirmKey.locator('.key-validity')).toContainText(/valid from \d{4}-\d\d-\d\d \d\d:\d\d UTC, expires \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    await expect(confirm.getByLabel('payload key to sign with')).toHaveAttribute('data-value', /^[0-9A-F]{64}$/);
    for (const name of good) {
      const sha = createHash('sha256').update(readFileSync(join(inbox, name))).digest('hex');
      await expect(confirm.getByLabel(`SHA-256 to sign of ${name}`)).toHaveAttribute('data-value', sha);
      await expect(confirm.getByLabel(`SHA-256 to sign of ${name}`).locator('.group')).toHaveCount(16);
    }
    await expectNoHorizontalScroll(page);
    await keepScreenshot(page, testInfo, 'sign-update-confirm');
    await confirm.getByRole('button', { name: new RegExp(`^Confirmed: sign ${good.length} files with `) }).click();

    // One PIN for everything, in a dialog, cleared from it afterwards. A stray Enter on an empty PIN sends nothing.
    const pinDialog = page.getByRole('dialog', { name: 'Signing token PIN' });
    await expect(pinDialog).toBeVisible();
    await expect(pinDialog.getByRole('button', { name: 'Sign', exact: true })).toBeDisabled();
    await pinDialog.getByLabel('PIN').press('Enter');
    await expect(pinDialog).toBeVisible();
    await expect(pinDialog).toContainText('nothing is sent while it is empty');
    await pinDialog.getByLabel('PIN').fill(SIGNING_PIN);
    await pinDialog.getByLabel('PIN').press('Enter');
    await expect(pinDialog).toBeHidden();
    const secrets = await page.locator('dialog input[type="password"]').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
    expect(secrets.length).toBeGreaterThan(0);
    expect(secrets.every((v) => v === '')).toBe(true);
    expect(await page.content()).not.toContain(SIGNING_PIN);

    const outputs = panel.getByRole('table', { name: 'Outputs' });
    for (const name of releases) {
      const row = outputs.locator(`tr[data-output="${name}.sig"]`);
      await expect(row).toContainText('OK');
      const sig = readFileSync(join(f.dir, 'signed', `${name}.sig`));
      await expect(row.locator('.fingerprint')).toHaveAttribute('data-value', createHash('sha256').update(sig).digest('hex'));
    }
    const signedPayload = join(f.dir, 'signed', `${PAYLOAD}.signed`);
    const payloadRow = outputs.locator(`tr[data-output="${PAYLOAD}.signed"]`);
    await expect(payloadRow).toContainText('OK');
    await expect(payloadRow.locator('.fingerprint')).toHaveAttribute('data-value', createHash('sha256').update(readFileSync(signedPayload)).digest('hex'));
    expect(existsSync(join(f.dir, 'signed', `${tampered}.sig`))).toBe(false);
    expect(existsSync(join(f.dir, 'signed', `${PAYLOAD}.sig`))).toBe(false);
    // The signed payload verifies by update_engine's rule with the payload key's exported public key (the CLI).
    const pem = join(f.dir, 'payload-2027.pub.pem');
    expect(runCeremony(['key', 'export', '--key', payloadKey, '--format', 'pem', '--out', pem], { env: f.env }).code).toBe(0);
    const verified = runCeremony(['payload', 'verify', '--public-key', pem, signedPayload], { env: f.env });
    expect(verified.code, verified.stderr).toBe(0);
    await expect(panel.getByLabel('signing key fingerprint').last()).toHaveAttribute('data-value', keyFingerprint!);
    await expect(page.getByRole('navigation', { name: 'Sign update steps' }).locator('[data-step="seal"]')).toHaveAttribute('data-state', 'done');
    await expectNoHorizontalScroll(page);
    await keepScreenshot(page, testInfo, 'sign-update-signed');

    // One ceremony, one record: the release files and the payload were signed under the same sealed record.
    expect(readdirSync(records).filter((n) => n.includes('-payload-sign-'))).toEqual([]);
    const signed = signRecords().filter((n) => n !== refusalRecord);
    expect(signed).toHaveLength(1);
    const review = await reviewRecord(join(records, signed[0]!));
    expect(review.verdict).toBe('intact');
    expect(review.events.filter((e) => e.event.step === 'sign').length).toBeGreaterThanOrEqual(2);

    await panel.getByRole('button', { name: 'Open the record' }).click();
    // Reviewed against the record's own keys only: intact, but never the green badge.
    await expect(page.getByTestId('verdict')).toHaveAttribute('data-verdict', 'intact');
    await expect(page.getByTestId('verdict')).toHaveText('INTACT — SEAL NOT PINNED');
    await expect(page.getByTestId('verdict')).toHaveAttribute('data-tone', 'unpinned');
    const timeline = page.getByRole('table', { name: 'Timeline' });
    await expect(timeline).toContainText('verify-input');
    await expect(timeline).toContainText('self-check');
    expect(app.blocked).toEqual([]);
  } finally {
    await app.close();
  }
});
