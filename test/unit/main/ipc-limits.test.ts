import { describe, expect, it } from 'vitest';
import { REQUESTS, SHARE_TEXT_MAX } from '../../../main/ipc-contract.js';
import { MAX_SHARE_TEXT_BYTES } from '../../../ceremony/quorum/share.js';

describe('the IPC edge and the core agree on how big a share can be', () => {
  it('the pasted-share limit is the core share parser limit (one rule, two files that cannot import each other)', () => {
    expect(SHARE_TEXT_MAX).toBe(MAX_SHARE_TEXT_BYTES);
  });

  it('a renderer pasting more than a share can hold is refused at the edge, before the core sees it', () => {
    const ok = REQUESTS.renewAddShare.safeParse({ source: 'text', text: 'x'.repeat(MAX_SHARE_TEXT_BYTES) });
    const over = REQUESTS.renewAddShare.safeParse({ source: 'text', text: 'x'.repeat(MAX_SHARE_TEXT_BYTES + 1) });
    expect(ok.success).toBe(true);
    expect(over.success).toBe(false);
  });
});
