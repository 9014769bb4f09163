/**
 * The envelope a custodian keeps, byte for byte (DESIGN §4): a known share checked against its layout and against
 * a checksum computed here from the rule in share.ts's header, independently of shareChecksum. A share written by
 * a changed formatter or checksummed under another label would not be read by another build, or by this one's
 * documentation; and the working copy of the share bytes the checksum builds must not outlive it.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { formatShare, formatShareWords, parseShare, shareChecksum, type Share } from '../../../ceremony/quorum/share.js';

const known: Share = {
  version: 1,
  setId: '0f3a9b2c77d1e4a0',
  index: 2,
  threshold: 3,
  total: 5,
  custodian: 'bob',
  commitment: '00112233445566778899aabbccddeeff102132435465768798a9bacbdcedfe0f',
  data: Buffer.from(Array.from({ length: 33 }, (_, i) => (i * 7 + 1) & 0xff)),
};

/** SHA-256("ceremony quorum share checksum v1\0" ‖ version ‖ set ID ‖ index, k, n ‖ data ‖ commitment ‖ len(name) ‖ name), first 4 bytes. */
function expectedChecksum(s: Share): string {
  const name = Buffer.from(s.custodian, 'utf8');
  return createHash('sha256')
    .update(Buffer.from('ceremony quorum share checksum v1\0', 'ascii'))
    .update(Buffer.from([s.version]))
    .update(Buffer.from(s.setId, 'hex'))
    .update(Buffer.from([s.index, s.threshold, s.total]))
    .update(s.data)
    .update(Buffer.from(s.commitment, 'hex'))
    .update(Buffer.from([name.length]))
    .update(name)
    .digest()
    .subarray(0, 4)
    .toString('hex');
}

afterEach(() => vi.restoreAllMocks());

describe('the checksum follows its documented rule (label, fields, name length, name)', () => {
  test('a share checksummed under another label or without the name length would not match', () => {
    expect(shareChecksum(known).toString('hex')).toBe(expectedChecksum(known));
  });

  test("the checksum's working copy of the share bytes is wiped once the checksum is taken", () => {
    const concat = vi.spyOn(Buffer, 'concat');
    shareChecksum(known);
    const copies = concat.mock.results.map((r) => r.value as Buffer);
    expect(copies.length).toBeGreaterThan(0);
    for (const b of copies) expect(b.every((x) => x === 0)).toBe(true);
  });
});

describe('the text and words envelopes, line by line', () => {
  test('the text envelope: Commitment on two lines of 8 groups, Data on three, no blank continuation line', () => {
    const cs = expectedChecksum(known);
    const hex = known.data.toString('hex');
    const g = (s: string, from: number, to: number) => s.slice(from * 4, to * 4).match(/.{1,4}/g)!.join(' ');
    expect(formatShare(known)).toBe(
      [
        '-----BEGIN QUORUM SHARE-----',
        'Version: 1',
        'Set: 0f3a-9b2c-77d1-e4a0',
        'Custodian: bob',
        'Share: 2 of 5',
        'Threshold: 3',
        `Commitment: ${g(known.commitment, 0, 8)}`,
        `            ${g(known.commitment, 8, 16)}`,
        `Data: ${g(hex, 0, 8)}`,
        `      ${g(hex, 8, 16)}`,
        `      ${g(hex, 16, 17)}`,
        `Checksum: ${cs.slice(0, 4)}-${cs.slice(4)}`,
        '-----END QUORUM SHARE-----',
        '',
      ].join('\n'),
    );
  });

  test('the words envelope numbers its lines right-aligned in two columns, eight words a line', () => {
    const lines = formatShareWords(known).split('\n');
    expect(lines.slice(0, 2)).toEqual(['-----BEGIN QUORUM SHARE WORDS-----', 'Custodian: bob']);
    const numbered = lines.slice(2, -2);
    expect(numbered.map((l) => l.slice(0, 4))).toEqual([' 1: ', ' 2: ', ' 3: ', ' 4: ', ' 5: ', ' 6: ', ' 7: ', ' 8: ', ' 9: ', '10: ', '11: ']);
    expect(numbered.map((l) => l.slice(4).split(' ').length)).toEqual([8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 1]);
    expect(lines.slice(-2)).toEqual(['-----END QUORUM SHARE WORDS-----', '']);
    expect(parseShare(formatShareWords(known), 'known').data.equals(known.data)).toBe(true);
  });
});
