/**
 * Where a mistyped text share is said to be wrong (issue 13, issue 16): the typo search tries every single-digit
 * change and every swap of neighbouring digits in the hex groups, and names a place only when one group explains
 * the checksum. These tests pin the swap candidates (first, middle and last pair of a group, equal neighbours),
 * the fields searched, and the line count when the share has a blank line in it.
 */
import { describe, expect, test } from 'vitest';
import { formatShare } from '../../../ceremony/quorum/share.js';
import { copy, makeSet, refusal } from './fixture.js';

const { split } = await makeSet();
const bob = split.shares[1]!;

const located = (line: number, group: number, field: string) => ({
  code: 'SHARE_INVALID',
  message: `the share of bob (bob.share) does not match its checksum: line ${line} of the share (counting its BEGIN line as 1), group ${group} of the ${field} field, looks mistyped; compare it with the original`,
});
const unlocated = {
  code: 'SHARE_INVALID',
  message: 'the share of bob (bob.share) does not match its checksum: a character was mistyped or changed; compare it with the original',
};

/** Bob's share with the first two data bytes given, formatted, and its first Data group replaced by `typed`. */
function dataTypo(firstGroup: string, typed: string): string {
  const data = Buffer.from(bob.data);
  data.write(firstGroup, 0, 'hex');
  const text = formatShare(copy(bob, { data }));
  expect(text).toContain(`Data: ${firstGroup} `);
  return text.replace(`Data: ${firstGroup} `, `Data: ${typed} `);
}

describe('transposition attack: two swapped neighbouring digits are named by their group', () => {
  // Lines: 1 BEGIN, 2 Version, 3 Set, 4 Custodian, 5 Share, 6 Threshold, 7-8 Commitment, 9 Data.
  test.each([
    ['the first pair of a group', 'a1b2', '1ab2'],
    ['the middle pair of a group', 'a1b2', 'ab12'],
    ['the last pair of a group (nothing after it)', 'a1b2', 'a12b'],
    ['a pair after two equal digits', 'aba1', 'aab1'],
    ['a pair before two equal digits', 'a1bb', '1abb'],
  ])('%s', (_name, original, typed) => {
    expect(refusal(dataTypo(original, typed))).toEqual(located(9, 1, 'Data'));
  });
});

describe('the fields searched', () => {
  test('a typo in the Share or Threshold number is reported as a checksum mismatch, not as a hex "group" of that field', () => {
    // "2 of 5" is not hex groups ("of" would count as one): the place is named only in the hex fields.
    const text = formatShare(bob);
    expect(refusal(text.replace('Share: 2 of 5', 'Share: 2 of 6'))).toEqual(unlocated);
    expect(refusal(text.replace('Threshold: 3', 'Threshold: 4'))).toEqual(unlocated);
  });

  test('a share with a blank line after its BEGIN line: the typo is still located, its line counted as on paper', () => {
    const text = formatShare(bob).replace('-----BEGIN QUORUM SHARE-----\n', '-----BEGIN QUORUM SHARE-----\n\n');
    const from = text.indexOf('Set: ') + 5;
    const typo = text.slice(0, from) + (text[from] === '0' ? '1' : '0') + text.slice(from + 1);
    expect(refusal(typo)).toEqual(located(4, 1, 'Set'));
  });
});
