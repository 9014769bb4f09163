/**
 * Back up and restore in the app (issue 11) on real SoftHSM tokens. The root of trust is made by the real
 * `ceremony init`; in the app the custodians renew (the result says older backups are stale and offers
 * the backup step), then back up with the new shares through the renewal's share entry (a share of the
 * superseded set refused and named, shares masked): the keys backed up, the one that cannot leave its token
 * named. Then the disaster: both tokens' directories deleted, the operators initialise a fresh signing
 * token, and a new app restores with other custodians' shares: a tampered backup is refused with its code
 * and no root token is made; the genuine one is restored and passes the core's self-check. Neither the
 * backup file nor any record holds a PIN, a share or the quorum secret.
 */
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { combineShareData, deriveBackupKeys, deriveQuorumPins, parseShare, pinFormatsOf } from '../../dist/ceremony/quorum/index.js';
import { parseStoredQuorumSet } from '../../dist/ceremony/ceremonies/quorum-state.js';
import { runCeremony } from '../helpers/cli.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { TEST_SO_PIN } from '../helpers/softhsm.js';
import { openApp } from './bridge.js';
import { expectNoHorizontalScroll, keepScreenshot } from './layout.js';
import { CUSTODIANS, DAVE_PASSPHRASE, makeFixture, runInit, SIGNING_PIN, type CeremonyFixture } from './fixtures.js';

test.describe.configure({ mode: 'serial' });

let f: CeremonyFixture;
let initShares: string;
let handed: Record<string, string>;
const backupFile = () => join(f.dir, 'keys.backup');
const records = () => join(f.dir, 'ceremony-records');

test.beforeAll(async () => {
  f = await makeFixture();
  initShares = runInit(f).shares;
  handed = Object.fromEntries(CUSTODIANS.map((c) => [c, join(f.dir, `handed-${c}.share`)]));
});
test.afterAll(() => f.cleanup());

async function openConfig(page: Page) {
  await page.getByRole('button', { name: 'Open configuration…' }).click();
  await expect(page.getByTestId('config-loaded')).toContainText('quorum 3 of 5');
  await page.getByRole('button', { name: 'Go on with the network up (recorded)' }).click();
  await expect(page.getByTestId('airgap-banner')).toContainText('You chose to go on anyway');
  await page.getByRole('tab', { name: 'Renew key' }).click();
  return page.getByRole('tabpanel', { name: 'Renew key' });
}

/** The secret, PINs and backup keys of the set in force, as only k custodians could compute them. */
async function quorumSecrets(files: string[]): Promise<Buffer[]> {
  const shares = files.map((p) => parseShare(readFileSync(p), p));
  const secret = await combineShareData(shares);
  const body = JSON.parse((JSON.parse(readFileSync(backupFile(), 'utf8')) as { body: string }).body) as { quorumSet: string };
  const set = parseStoredQuorumSet(Buffer.from(body.quorumSet), 'backup');
  const pins = deriveQuorumPins(secret, set.descriptor.setId, pinFormatsOf(set.descriptor));
  const keys = deriveBackupKeys(secret, set.descriptor.setId);
  return [secret, pins.userPin, pins.soPin, pins.signingSoPin, keys.wrapKey, keys.macKey];
}

/** Every share text the custodians hold (old set and new), the PINs and the secret: none may be on disk. */
async function expectNoSecretIn(folders: string[]) {
  const texts = [...readdirSync(initShares).filter((n) => !n.endsWith('.asc')).map((n) => readFileSync(join(initShares, n), 'utf8')), ...CUSTODIANS.filter((c) => c !== 'dave').map((c) => readFileSync(handed[c]!, 'utf8'))];
  const secrets = [Buffer.from(SIGNING_PIN), Buffer.from(TEST_SO_PIN), ...(await quorumSecrets(['alice', 'bob', 'carol'].map((c) => handed[c]!))), ...texts];
  const scan = scanForSecrets(folders, secrets);
  expect(scan.filesScanned).toBeGreaterThan(3);
  expect(scan.hits).toEqual([]);
}

test('after a renewal that says older backups are stale, the custodians back up the keys with the new shares', async ({ page }, testInfo) => {
  test.setTimeout(600_000);
  const app = await openApp(page, {
    env: f.env,
    // The test machine is networked: the core refuses unless the operator overrides (recorded), as in renew.spec.ts.
    airGap: { airGapped: false, interfacesUp: ['eth0'] },
    answers: {
      config: f.config,
      'share-file': [join(initShares, 'alice.share'), join(initShares, 'bob.share'), join(initShares, 'carol.share'), handed.bob!, handed.carol!],
      'out-dir': join(f.dir, 'renew'),
      'save-share': CUSTODIANS.map((c) => handed[c]!),
      'save-backup': backupFile(),
    },
  });
  try {
    const panel = await openConfig(page);
    // The renewal, as in renew.spec.ts (shares from files this time).
    await panel.getByRole('button', { name: 'Open the renewal' }).click();
    const id = await panel.getByLabel('quorum session ID').getAttribute('data-value');
    await panel.getByLabel(/type it here to confirm/).fill(id!.match(/.{4}/g)!.join('-'));
    await panel.getByRole('button', { name: 'Confirm session ID' }).click();
    for (let i = 1; i <= 3; i++) {
      await panel.getByRole('button', { name: 'Add share from file…' }).click();
      await expect(panel.getByTestId('share-progress')).toHaveText(`${i}/3`);
    }
    await panel.getByRole('button', { name: 'Renew the signing key…' }).click();
    const renewPin = page.getByRole('dialog', { name: 'Signing token PIN' });
    await renewPin.getByLabel('PIN').fill(SIGNING_PIN);
    await renewPin.getByRole('button', { name: 'Renew', exact: true }).click();
    await expect(panel.getByLabel('new subkey fingerprint')).toBeVisible({ timeout: 300_000 });
    // The sentence the CLI prints at the end of every renewal, as the core said it.
    await expect(panel.getByTestId('backup-stale')).toHaveText(/^every backup made before this renewal is now stale: it lacks the new subkey and opens with the superseded shares/);
    for (const c of CUSTODIANS) await panel.getByRole('button', { name: `Save the new share of ${c}…` }).click();
    await expect(panel.getByRole('list', { name: 'Handed out shares' })).toContainText('erin: saved');
    await expectNoHorizontalScroll(page);
    await keepScreenshot(page, testInfo, 'renew-offers-backup');

    // A key that can never leave its token: a standalone OpenPGP key (e.g. a record seal key).
    const pinFile = join(f.dir, 'signing.pin');
    writeFileSync(pinFile, SIGNING_PIN, { mode: 0o600 });
    const seal = runCeremony(['key', 'generate', '--token', 'pkcs11:token=signing', '--label', 'seal-1', '--bits', '2048', '--valid-days', '30', '--openpgp-uid', 'Record Seal <seal@example.org>', '--pin-file', pinFile], { env: f.env });
    rmSync(pinFile);
    expect(seal.code, seal.stderr + seal.stdout).toBe(0);

    // The renewal's result offers the backup step right there.
    await panel.getByRole('button', { name: 'Back up the keys now…' }).click();
    await expect(panel.getByRole('button', { name: 'Back up keys' })).toHaveAttribute('aria-pressed', 'true');
    await panel.getByRole('button', { name: 'Choose where to write the backup…' }).click();
    await expect(panel.getByLabel('quorum set ID')).toBeVisible();
    await expect(panel).toContainText('Shares needed: 3 of 5');
    await expect(panel).toContainText(backupFile());

    // A share of the superseded set (before the renewal) opens nothing: refused on arrival, named, not counted.
    const shareBox = panel.getByLabel(/Type or paste a share/);
    await shareBox.fill(readFileSync(join(initShares, 'alice.share'), 'utf8'));
    await panel.getByRole('button', { name: 'Add share', exact: true }).click();
    await expect(panel.getByRole('alert')).toContainText('error[SHARE_FOREIGN]');
    await expect(panel.getByTestId('share-progress')).toHaveText('0/3');
    await expect(shareBox).toHaveValue('');

    // The same masked entry as the renewal's.
    await shareBox.fill(readFileSync(handed.alice!, 'utf8'));
    expect(await shareBox.evaluate((el) => getComputedStyle(el).getPropertyValue('-webkit-text-security'))).toBe('disc');
    await expect(shareBox).toHaveAttribute('data-masked', 'true');
    await expectNoHorizontalScroll(page);
    await keepScreenshot(page, testInfo, 'backup-shares');
    await panel.getByRole('button', { name: 'Add share', exact: true }).click();
    await expect(panel.getByTestId('share-progress')).toHaveText('1/3');
    await panel.getByRole('button', { name: 'Add share from file…' }).click();
    await panel.getByRole('button', { name: 'Add share from file…' }).click();
    await expect(panel.getByTestId('share-progress')).toHaveText('3/3');

    await panel.getByRole('button', { name: 'Back up the keys…' }).click();
    const pinDialog = page.getByRole('dialog', { name: 'Signing token PIN' });
    await pinDialog.getByLabel('PIN').fill(SIGNING_PIN);
    await pinDialog.getByRole('button', { name: 'Back up', exact: true }).click();
    const backedUp = panel.getByRole('list', { name: 'Keys backed up' });
    await expect(backedUp).toContainText('root: root-key [root]', { timeout: 300_000 });
    await expect(backedUp).toContainText('[signing-subkey]');
    await expect(panel.getByRole('list', { name: 'Keys not backed up' })).toContainText('signing: seal-1: a standalone OpenPGP key');
    await expect(panel.getByTestId('backup-file')).toContainText(backupFile());
    await expect(page.getByRole('navigation', { name: 'Back up keys steps' }).locator('[data-step="wrap-keys"]')).toHaveAttribute('data-state', 'done');
    expect((JSON.parse(readFileSync(backupFile(), 'utf8')) as { format: string }).format).toBe('ceremony-backup/1');
    await expectNoHorizontalScroll(page);
    await keepScreenshot(page, testInfo, 'backup-done');

    await panel.getByRole('button', { name: 'Open the record' }).click();
    await expect(page.getByTestId('verdict')).toHaveAttribute('data-verdict', 'intact');
    await expect(page.getByRole('table', { name: 'Timeline' })).toContainText('wrap-keys');
    expect(app.blocked).toEqual([]);
  } finally {
    await app.close();
  }
  await expectNoSecretIn([records(), backupFile()]);
});

test('after both tokens are lost, a tampered backup is refused with its code; the genuine one is restored and self-checked', async ({ page }, testInfo) => {
  test.setTimeout(600_000);
  // The disaster: both tokens' directories gone; the operators initialise a fresh signing token.
  const tokens = join(f.hsm.dir, 'tokens');
  for (const d of readdirSync(tokens)) rmSync(join(tokens, d), { recursive: true, force: true });
  f.hsm.initToken('signing', SIGNING_PIN);
  // A change anyone could make to the JSON: another creation date.
  const outer = JSON.parse(readFileSync(backupFile(), 'utf8')) as { body: string };
  const body = JSON.parse(outer.body) as { created: string };
  const tampered = join(f.dir, 'tampered.backup');
  writeFileSync(tampered, JSON.stringify({ ...outer, body: JSON.stringify({ ...body, created: '2020-01-01T00:00:00.000Z' }) }));

  const app = await openApp(page, {
    env: f.env,
    // The test machine is networked: the core refuses unless the operator overrides (recorded), as in renew.spec.ts.
    airGap: { airGapped: false, interfacesUp: ['eth0'] },
    answers: {
      config: f.config,
      'backup-file': [tampered, backupFile()],
      'share-file': [handed.dave!, handed.carol!, handed.dave!, handed.carol!],
      'share-key': [join(f.dir, 'custodians', 'dave.key.asc'), join(f.dir, 'custodians', 'dave.key.asc')],
    },
  });
  const restoreWith = async (panel: Locator, file: string) => {
    await panel.getByRole('button', { name: 'Open the backup file…' }).click();
    await expect(panel).toContainText(`Backup ${file}`);
    await expect(panel).toContainText('Shares needed: 3 of 5');
    // carol, dave and erin (the backup was made with alice's, bob's and carol's): erin's typed from paper,
    // dave's encrypted to his key (opened in main with his key file and passphrase), carol's from a file.
    await panel.getByLabel(/Type or paste a share/).fill(readFileSync(handed.erin!, 'utf8'));
    await panel.getByRole('button', { name: 'Add share', exact: true }).click();
    await expect(panel.getByTestId('share-progress')).toHaveText('1/3');
    await panel.getByRole('button', { name: 'Add encrypted share…' }).click();
    const pass = page.getByRole('dialog', { name: "Custodian's key passphrase" });
    await pass.getByLabel('Passphrase').fill(DAVE_PASSPHRASE);
    await pass.getByRole('button', { name: 'Decrypt share' }).click();
    await expect(panel.getByTestId('share-progress')).toHaveText('2/3');
    await panel.getByRole('button', { name: 'Add share from file…' }).click();
    await expect(panel.getByTestId('share-progress')).toHaveText('3/3');
    await panel.getByRole('button', { name: 'Restore the keys…' }).click();
    const so = page.getByRole('dialog', { name: 'Fresh signing token SO PIN' });
    await so.getByLabel('SO PIN (as the operators set it)').fill(TEST_SO_PIN);
    await so.getByRole('button', { name: 'Next' }).click();
    const pin = page.getByRole('dialog', { name: 'Signing token PIN' });
    await pin.getByLabel('PIN').fill(SIGNING_PIN);
    await pin.getByRole('button', { name: 'Restore', exact: true }).click();
  };
  try {
    const panel = await openConfig(page);
    await panel.getByRole('button', { name: 'Restore keys' }).click();

    await restoreWith(panel, 'tampered.backup');
    await expect(panel.getByRole('alert')).toContainText('error[BACKUP_INVALID]', { timeout: 300_000 });
    await expect(panel.getByRole('alert')).toContainText('nothing was restored');
    // Nothing changed: no root token was made.
    expect(f.hsm.pkcs11Tool(['--list-token-slots'])).not.toMatch(/token label\s*:\s*root\b/);
    await expectNoHorizontalScroll(page);
    await keepScreenshot(page, testInfo, 'restore-refused');

    await restoreWith(panel, 'keys.backup');
    const restored = panel.getByRole('list', { name: 'Keys restored' });
    await expect(restored).toContainText('root: root-key [root]', { timeout: 300_000 });
    await expect(restored).toContainText('[signing-subkey]');
    await expect(panel.getByTestId('self-check')).toContainText('sign and verify with their recorded public halves');
    await expect(page.getByRole('navigation', { name: 'Restore keys steps' }).locator('[data-step="self-check"]')).toHaveAttribute('data-state', 'done');
    expect(f.hsm.pkcs11Tool(['--list-token-slots'])).toMatch(/token label\s*:\s*root\b/);
    await expectNoHorizontalScroll(page);
    await keepScreenshot(page, testInfo, 'restore-done');
    expect(app.blocked).toEqual([]);
  } finally {
    await app.close();
  }
  await expectNoSecretIn([records(), backupFile()]);
});
