/** The app's inbox (issue 15): builders' DIGESTS and provenance beside a release file are supporting files, never files to sign. */
import { expect, it } from 'vitest';
import { isSupportingFile } from '../../../ceremony/release/inbox.js';

it('treats FILE.DIGESTS.<builder>(.asc) and FILE.intoto.jsonl as supporting files, and the release file itself as a file to sign', () => {
  for (const n of ['image.bin.DIGESTS.rebuilder-a.asc', 'image.bin.DIGESTS.rebuilder-b', 'image.bin.DIGESTS.rebuilder-b.sig', 'image.bin.intoto.jsonl', 'image.bin.DIGESTS', 'image.bin.sig']) {
    expect(isSupportingFile(n), n).toBe(true);
  }
  for (const n of ['image.bin', 'flatcar_production_update.gz', 'version.txt', 'DIGESTS-notes.txt']) expect(isSupportingFile(n), n).toBe(false);
});
