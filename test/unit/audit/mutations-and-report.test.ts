import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { escapeHtml, renderReport } from '../../../ceremony/audit/report.js';
import { reviewRecord } from '../../../ceremony/audit/review.js';
import { makeOpenpgpSealer, type TestSealer } from '../../helpers/openpgp-sealer.js';
import { writeSampleRecord } from '../../helpers/audit-records.js';
import { assertEveryMutationCaught, generateMutations } from '../../helpers/record-mutations.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

let sealer: TestSealer;
const work = tempDirs('audit-mut-');
beforeAll(async () => {
  sealer = await makeOpenpgpSealer();
});

describe('the mutation generator', () => {
  it('makes every kind of mutation, each a different log from the original, with the expected counts', async () => {
    const dir = await writeSampleRecord(work(), 'payload-sign', sealer);
    const log = readFileSync(join(dir, 'log.jsonl'));
    const lines = log.toString('utf8').trimEnd().split('\n');
    const ms = generateMutations(log);
    const count = (k: string) => ms.filter((m) => m.kind === k).length;
    expect(count('delete')).toBe(lines.length);
    expect(count('duplicate')).toBe(lines.length);
    expect(count('swap')).toBe(lines.length - 1);
    expect(count('truncate')).toBe(lines.length + 1);
    expect(count('edit')).toBeGreaterThan(lines.length * 8);
    for (const m of ms) expect(m.log.equals(log), m.description).toBe(false);
    expect(new Set(ms.map((m) => m.description)).size).toBe(ms.length);
  });

  it('refuses to start from a record that is not intact (a checker that cannot fail proves nothing)', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    unlinkSync(join(dir, 'log.jsonl.asc'));
    await expect(assertEveryMutationCaught(dir)).rejects.toThrow(/must review as intact, not incomplete/);
  });
});

describe('the HTML report', () => {
  it('escapes every character that could open markup or an attribute', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('a record re-sealed by a key of its own keys/ (nothing pinned) never gets the green intact badge', async () => {
    const dir = await writeSampleRecord(work(), 'sign', sealer);
    const review = await reviewRecord(dir);
    expect(review.verdict).toBe('intact');
    expect(review.headline).toBe('intact (seal not pinned)');
    const html = renderReport(review, new Date('2026-11-22T02:00:00Z'));
    expect(html).toContain('class="verdict v-unpinned" id="verdict" data-verdict="intact">Intact (seal not pinned)<');
    expect(html).not.toContain('v-intact" id="verdict"');
  });

  it('holds the verdict, each policy check, each finding and each event', async () => {
    const dir = await writeSampleRecord(work(), 'renew', sealer);
    const review = await reviewRecord(dir, { trustedCertificates: [sealer.certificateArmored] });
    const html = renderReport(review, new Date('2026-11-22T02:00:00Z'));
    expect(html).toContain('class="verdict v-intact" id="verdict" data-verdict="intact">Intact<');
    for (const p of review.policy) expect(html).toContain(escapeHtml(p.title));
    for (const f of review.findings) expect(html).toContain(escapeHtml(f.message));
    expect((html.match(/<tr><td>\d+<\/td><td>\d+<\/td>/g) ?? []).length).toBe(review.events.length);
    expect(html).toContain(`default-src 'none'`);
  });
});
