/**
 * What the Sign-update workspace lists as "Signatures and DIGESTS used": only those the core's lookup rule
 * (findSignatureFor / findDigestsFor) ties to a file still in the inbox. A file taken out of the inbox
 * leaves its .sig and DIGESTS behind; they are not "used" and are listed apart.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listInbox, supportingFilesOf } from '../../../ceremony/release/inbox.js';

const dir = mkdtempSync(join(tmpdir(), 'inbox-listing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the inbox listing', () => {
  it("a removed file's signature and DIGESTS are not listed as used", async () => {
    for (const n of ['a.bin', 'a.bin.sig', 'a.bin.DIGESTS', 'a.bin.DIGESTS.sig', 'removed.bin.sig', 'removed.bin.DIGESTS.asc']) writeFileSync(join(dir, n), 'x');
    const { main, supporting } = await listInbox(dir);
    expect(main).toEqual(['a.bin']);
    expect(supportingFilesOf(dir, main, supporting)).toEqual({ used: ['a.bin.DIGESTS', 'a.bin.DIGESTS.sig', 'a.bin.sig'], unused: ['removed.bin.DIGESTS.asc', 'removed.bin.sig'] });
  });

  it("a configured builder's DIGESTS (and the .sig of a plain one) are used; an unconfigured builder's are not (issue 15)", async () => {
    const d = mkdtempSync(join(dir, 'builders-'));
    const names = ['b.bin', 'b.bin.sig', 'b.bin.DIGESTS.alpha', 'b.bin.DIGESTS.alpha.sig', 'b.bin.DIGESTS.rogue.asc'];
    for (const n of names) writeFileSync(join(d, n), 'x');
    const { main, supporting } = await listInbox(d);
    expect(supportingFilesOf(d, main, supporting, ['alpha', 'gamma'])).toEqual({
      used: ['b.bin.DIGESTS.alpha', 'b.bin.DIGESTS.alpha.sig', 'b.bin.sig'],
      unused: ['b.bin.DIGESTS.rogue.asc'],
    });
  });

  it('a provenance statement is used when the config has a provenance policy, and listed apart when it has none (issue 15)', async () => {
    const d = mkdtempSync(join(dir, 'provenance-'));
    for (const n of ['c.bin', 'c.bin.sig', 'c.bin.intoto.jsonl', 'gone.bin.intoto.jsonl']) writeFileSync(join(d, n), 'x');
    const { main, supporting } = await listInbox(d);
    expect(supportingFilesOf(d, main, supporting, [], true)).toEqual({ used: ['c.bin.intoto.jsonl', 'c.bin.sig'], unused: ['gone.bin.intoto.jsonl'] });
    expect(supportingFilesOf(d, main, supporting, [], false)).toEqual({ used: ['c.bin.sig'], unused: ['c.bin.intoto.jsonl', 'gone.bin.intoto.jsonl'] });
  });
});
