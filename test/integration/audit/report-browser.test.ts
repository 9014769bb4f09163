/**
 * The auditor's HTML report in a real browser (Debian's Chromium under Playwright): it renders, names
 * every finding of a tampered record, loads nothing from anywhere, and shows hostile text from the log as
 * text. Screenshots are kept under test-results/audit/ (git-ignored) as test artifacts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright';
import { reviewRecord } from '../../../ceremony/audit/review.js';
import { REPO, runCeremony } from '../../helpers/cli.js';
import { makeOpenpgpSealer, type TestSealer } from '../../helpers/openpgp-sealer.js';
import { sampleEvents, writeSampleRecord } from '../../helpers/audit-records.js';

const HOSTILE = `<script>document.title="pwned"</script><img src="https://evil.example/p.png" onerror="alert(1)">`;
const ARTIFACTS = join(REPO, 'test-results', 'audit');

let browser: Browser;
let sealer: TestSealer;
const dirs: string[] = [];
const work = () => {
  const d = mkdtempSync(join(tmpdir(), 'audit-report-'));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  sealer = await makeOpenpgpSealer('Ceremony Seal');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
});
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function assertNoExternalReferences(html: string): void {
  expect(html).not.toMatch(/\b(src|href|action|poster|srcset)\s*=\s*["']?\s*(https?:|\/\/|file:)/i);
  expect(html).not.toMatch(/<script\b/i);
  expect(html).not.toMatch(/<(link|img|iframe|object|embed|video|audio|source)\b/i);
  expect(html).not.toMatch(/@import|url\(/i);
}

async function render(htmlPath: string, screenshot: string) {
  // The auditor's laptop: 1280×800. Nothing may be wider than the window (issue 13: the timeline overflowed).
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const requests: string[] = [];
  page.on('request', (r) => {
    if (r.url() !== pathToFileURL(htmlPath).href) requests.push(r.url());
  });
  await page.goto(pathToFileURL(htmlPath).href);
  await page.screenshot({ path: join(ARTIFACTS, screenshot), fullPage: true });
  const text = await page.locator('body').innerText();
  const result = {
    text,
    verdict: await page.locator('#verdict').innerText(),
    findings: await page.locator('#findings').innerText().catch(() => ''),
    title: await page.title(),
    elements: await page.locator('script, img, iframe, link, object').count(),
    /** How far the page and the timeline reach past the window (0 when they fit). */
    overflow: await page.evaluate(() => {
      const t = document.querySelector('#timeline');
      return { page: document.documentElement.scrollWidth - window.innerWidth, timeline: t ? Math.max(0, t.getBoundingClientRect().right - window.innerWidth) : 0 };
    }),
    requests,
  };
  await page.close();
  return result;
}

describe('the HTML report in Chromium', () => {
  it('names every finding of a tampered record, loads nothing, and shows hostile log text as text', async () => {
    const w = work();
    const dir = await writeSampleRecord(w, 'sign', sealer, {
      events: (f) => sampleEvents('sign', f).map((e) => (e.step === 'show-fingerprints' ? { ...e, detail: `fingerprints shown ${HOSTILE}` } : e)),
    });
    // Tamper three ways: remove a line, swap an output, slip in a certificate.
    const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8').split('\n');
    lines.splice(4, 1);
    writeFileSync(join(dir, 'log.jsonl'), lines.join('\n'));
    appendFileSync(join(w, 'out', 'flatcar_production_image.bin.bz2.sig'), 'tampered');
    writeFileSync(join(dir, 'keys', 'extra.asc'), 'not a certificate');

    const review = await reviewRecord(dir);
    expect(review.verdict).toBe('tampered');
    const expected = new Set(review.findings.map((f) => f.code));
    for (const code of ['chain-break', 'sequence-gap', 'seal-invalid', 'artifact-mismatch', 'unbound-key-file', 'key-file-malformed']) expect(expected).toContain(code);

    const out = join(w, 'report.html');
    const run = runCeremony(['audit', 'report', dir, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const html = readFileSync(out, 'utf8');
    assertNoExternalReferences(html);

    const page = await render(out, 'report-tampered.png');
    expect(page.verdict).toBe('Tampered');
    expect(page.overflow).toEqual({ page: 0, timeline: 0 });
    for (const f of review.findings) {
      expect(page.findings).toContain(f.code);
      expect(page.findings).toContain(f.message);
    }
    expect(page.text).toContain(HOSTILE); // shown as text, not run or loaded
    expect(page.elements).toBe(0);
    expect(page.title).not.toBe('pwned');
    expect(page.requests).toEqual([]);
  });

  it('shows an intact renewal: verdict, policy checks, participants, keys and artifacts', async () => {
    const w = work();
    const dir = await writeSampleRecord(w, 'renew', sealer);
    const out = join(w, 'report.html');
    const cert = join(w, 'seal.asc');
    writeFileSync(cert, sealer.certificateArmored);
    const run = runCeremony(['audit', 'report', dir, '--out', out, '--trusted-key', cert]);
    expect(run.code).toBe(0);
    // the verdict is printed once ("intact: intact:" was printed twice)
    expect(run.stdout).toMatch(/^report written to .*: intact: /m);
    expect(run.stdout).not.toMatch(/intact: intact:/);
    assertNoExternalReferences(readFileSync(out, 'utf8'));
    const page = await render(out, 'report-intact-renew.png');
    expect(page.verdict).toBe('Intact');
    expect(page.overflow).toEqual({ page: 0, timeline: 0 });
    for (const s of ['k distinct custodians before the root key was unlocked', 'custodian', 'alice', 'bob', 'carol', sealer.fingerprint, 'transition.json', 'sign-transition', 'yes: by a certificate the auditor pinned']) {
      expect(page.text).toContain(s);
    }
    expect(page.requests).toEqual([]);
  });

  it('an unpinned record never gets the green badge: grey, "seal not pinned"', async () => {
    const w = work();
    const dir = await writeSampleRecord(w, 'sign', sealer);
    const out = join(w, 'report.html');
    expect(runCeremony(['audit', 'report', dir, '--out', out]).code).toBe(0);
    const page = await render(out, 'report-unpinned.png');
    expect(page.verdict).toBe('Intact (seal not pinned)');
    const pg = await browser.newPage();
    await pg.goto(pathToFileURL(out).href);
    expect(await pg.locator('#verdict').evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(87, 96, 106)');
    await pg.close();
  });

  it('shows an incomplete record as incomplete with the step it stopped after', async () => {
    const w = work();
    const dir = await writeSampleRecord(w, 'payload-sign', undefined, { stopAfter: 4 });
    const out = join(w, 'report.html');
    expect(runCeremony(['audit', 'report', dir, '--out', out]).code).toBe(0);
    const page = await render(out, 'report-incomplete.png');
    expect(page.verdict).toBe('Incomplete');
    expect(page.text).toContain('incomplete, stopped after step hsm-login (line 5)');
  });
});
