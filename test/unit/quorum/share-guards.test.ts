/**
 * The guards of the share parser (ceremony/quorum/share.ts) that a well-made share never reaches (issue 16): numbers
 * that do not fit together behind a correct checksum (a forger recomputes it; the checksum only catches typos), and
 * the size and line limits at and one past the limit.
 */
import { describe, expect, test } from 'vitest';
import { formatShare, formatShareWords, parseShare, shareChecksum, MAX_CUSTODIANS, MAX_SHARE_LINES, MAX_SHARE_TEXT_BYTES, type Share } from '../../../ceremony/quorum/share.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { copy, makeSet } from './fixture.js';

const { split } = await makeSet();
const bob = split.shares[1]!;

function code(input: string | Uint8Array): string {
  try {
    parseShare(input, 'forged.share');
  } catch (e) {
    if (!isCeremonyError(e)) throw e;
    return e.code;
  }
  return 'parsed';
}

/** A share with other numbers and a checksum made for them, as a forger (or a buggy splitter) would write it. */
const forged = (change: Partial<Share>) => formatShare(copy(bob, change));

describe("a share's numbers must fit together, whatever its checksum says", () => {
  test.each([
    ['index 0 (no such custodian position)', { index: 0 }],
    ['index above the total (share 6 of 5)', { index: 6 }],
    ['threshold 0 (a quorum of nobody)', { threshold: 0 }],
    ['threshold above the total (3 of 2 could never recombine)', { threshold: 6 }],
    ['total 0', { total: 0, index: 0, threshold: 0 }],
    ['total above the 255 custodians Shamir over GF(256) allows', { total: 256, index: 1, threshold: 1 }],
  ])('refuses %s as SHARE_MALFORMED', (_name, change) => {
    expect(code(forged(change))).toBe('SHARE_MALFORMED');
  });

  test('accepts the edges: share n of n, threshold n, and 255 custodians', () => {
    expect(parseShare(forged({ index: 5, total: 5, threshold: 5 }), 'edge')).toMatchObject({ index: 5, total: 5, threshold: 5 });
    expect(parseShare(forged({ index: 1, total: 1, threshold: 1 }), 'edge')).toMatchObject({ index: 1, total: 1, threshold: 1 });
    expect(MAX_CUSTODIANS).toBe(255);
    expect(parseShare(forged({ index: 255, total: 255, threshold: 255 }), 'edge')).toMatchObject({ index: 255, total: 255, threshold: 255 });
  });

  test('the words form is held to the same numbers (threshold above total behind a good checksum)', () => {
    expect(code(formatShareWords(copy(bob, { threshold: 9 })))).toBe('SHARE_MALFORMED');
    expect(code(formatShareWords(copy(bob, { index: 0 })))).toBe('SHARE_MALFORMED');
  });

  test('a words share with an unknown format version behind a good checksum is SHARE_MALFORMED (a new format, not a typo)', () => {
    const v2 = copy(bob, { version: 2 as 1 });
    expect(code(formatShareWords(v2))).toBe('SHARE_MALFORMED');
  });

  test('the checksum binds the custodian name and every number (a share moved to another name is a typo)', () => {
    const base = shareChecksum(bob);
    for (const change of [{ custodian: 'carol' }, { index: 3 }, { threshold: 2 }, { total: 4 }]) {
      expect(shareChecksum(copy(bob, change)).equals(base)).toBe(false);
    }
    expect(base).toHaveLength(4);
  });
});

describe('size and line limits of an untrusted share (DoS guards)', () => {
  const text = formatShare(bob);

  test(`a share of exactly ${MAX_SHARE_TEXT_BYTES} bytes is read, one byte more is refused (text and bytes)`, () => {
    expect(MAX_SHARE_TEXT_BYTES).toBe(8192);
    const atLimit = text + ' '.repeat(8192 - text.length);
    expect(atLimit).toHaveLength(8192);
    expect(parseShare(atLimit, 'limit').index).toBe(2);
    expect(parseShare(Buffer.from(atLimit), 'limit').index).toBe(2);
    expect(code(atLimit + ' ')).toBe('SHARE_MALFORMED');
    expect(code(Buffer.from(atLimit + ' '))).toBe('SHARE_MALFORMED');
  });

  test('bytes are limited by their byte count, not by the characters they decode to', () => {
    // U+3000 (ideographic space) is trailing whitespace to the parser, 3 bytes in UTF-8 and 1 character in a string.
    const padded = `${text}${'\u3000'.repeat(3000)}\n`;
    expect(padded.length).toBeLessThanOrEqual(8192);
    expect(Buffer.byteLength(padded)).toBeGreaterThan(8192);
    expect(parseShare(padded, 'chars').index).toBe(2);
    expect(code(Buffer.from(padded))).toBe('SHARE_MALFORMED');
  });

  test(`a share of exactly ${MAX_SHARE_LINES} lines is read, one line more is refused`, () => {
    expect(MAX_SHARE_LINES).toBe(64);
    const lines = text.trimEnd().split('\n');
    const pad = (count: number) => [lines[0], lines[1], ...Array<string>(count).fill(''), ...lines.slice(2)].join('\n');
    expect(pad(64 - lines.length).split('\n')).toHaveLength(64);
    expect(parseShare(pad(64 - lines.length), 'lines').index).toBe(2);
    expect(code(pad(65 - lines.length))).toBe('SHARE_MALFORMED');
  });
});
