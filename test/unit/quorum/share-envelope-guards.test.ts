/**
 * The envelope rules of ceremony/quorum/share.ts that the mutation run of issue 16 found unpinned: the custodian
 * name that becomes a file name, the lines a share may carry around and between its fields, the numbers' form,
 * the words envelope's line numbers and separators, and where a typo is said to be. Each test is named after the
 * fault it stops; refusals are asserted by code (and, where the place is the point, by the place named).
 */
import { describe, expect, test } from 'vitest';
import { CUSTODIAN_NAME, formatShare, formatShareWords, parseShare, shareFileName, type Share } from '../../../ceremony/quorum/share.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { ODD_WORDS } from '../../../ceremony/quorum/words.js';
import { copy, makeSet, refusal } from './fixture.js';

const { split } = await makeSet();
const bob = split.shares[1]!;
const text = formatShare(bob);
const words = formatShareWords(bob);

const same = (s: Share) => s.data.equals(bob.data) && s.index === bob.index && s.custodian === bob.custodian;

describe('a custodian name becomes a file name (shares/<name>.share): only a plain name passes', () => {
  test('the share file is <name>.share, or <name>.share.asc when encrypted', () => {
    expect(shareFileName('bob', false)).toBe('bob.share');
    expect(shareFileName('bob', true)).toBe('bob.share.asc');
  });

  test.each([
    ['a path out of shares/', '../alice'],
    ['a sub-folder', 'a/b'],
    ['a hidden file', '.bob'],
    ['an empty name', ''],
    ['a name with a space', 'bob smith'],
    ['a name with a newline (a forged second line)', 'bob\nThreshold: 1'],
  ])('path-traversal and odd-name attack: %s is refused before it becomes a file name', (_name, custodian) => {
    expect(() => shareFileName(custodian, false)).toThrow(RangeError);
    expect(CUSTODIAN_NAME.test(custodian)).toBe(false);
  });

  test('a name of exactly 64 characters is a custodian, 65 is not (the file-name limit), in a file name and in a share', () => {
    const at = 'a'.repeat(64);
    const past = 'a'.repeat(65);
    expect(shareFileName(at, false)).toBe(`${at}.share`);
    expect(() => shareFileName(past, false)).toThrow(RangeError);
    expect(parseShare(formatShare(copy(bob, { custodian: at })), 'long').custodian).toBe(at);
    expect(refusal(formatShare(copy(bob, { custodian: past }))).code).toBe('SHARE_MALFORMED');
    expect(parseShare(formatShareWords(copy(bob, { custodian: at })), 'long').custodian).toBe(at);
    expect(refusal(formatShareWords(copy(bob, { custodian: past }))).code).toBe('SHARE_MALFORMED');
  });

  test('digits, dots, underscores and dashes after the first character are allowed', () => {
    for (const name of ['0bob', 'bob.smith', 'bob_smith', 'bob-smith', 'B0b']) expect(shareFileName(name, false)).toBe(`${name}.share`);
  });
});

describe('the lines around and between the fields', () => {
  test('a share pasted with spaces on its blank lines and at the ends of its lines still parses', () => {
    const padded = `  \n\t\n${text.replace(/\n/g, '   \n')}  \n \n`;
    expect(same(parseShare(padded, 'padded'))).toBe(true);
    const paddedWords = `  \n${words.replace(/\n/g, ' \n')}\t\n`;
    expect(same(parseShare(paddedWords, 'padded'))).toBe(true);
  });

  test('a blank line between the fields is skipped', () => {
    expect(same(parseShare(text.replace('Threshold: 3\n', 'Threshold: 3\n\n   \n'), 'gaps'))).toBe(true);
  });

  test('a share given as bytes (a file read raw) parses like the same text', () => {
    expect(same(parseShare(Buffer.from(text), 'bytes'))).toBe(true);
    expect(same(parseShare(new Uint8Array(Buffer.from(words)), 'bytes'))).toBe(true);
  });

  test('field names are read in any case, and the Share field in any case of "of"', () => {
    const shouted = text.replace('Version:', 'VERSION:').replace('Set:', 'set:').replace('Share: 2 of 5', 'SHARE: 2 OF 5');
    expect(same(parseShare(shouted, 'case'))).toBe(true);
  });

  test('only Commitment and Data continue on indented lines: an indented line under any other field is refused', () => {
    // DESIGN §4's layout: a Set or Checksum split over two lines is not a share this tool wrote.
    const set = /Set: (.*)/.exec(text)![1]!;
    expect(refusal(text.replace(set, set.replace('-', '\n     '))).code).toBe('SHARE_MALFORMED');
    const cs = /Checksum: (.*)/.exec(text)![1]!;
    expect(refusal(text.replace(cs, cs.replace('-', '\n          '))).code).toBe('SHARE_MALFORMED');
    expect(refusal(text.replace('Threshold: 3\n', 'Threshold: 3\n  4\n')).code).toBe('SHARE_MALFORMED');
    expect(refusal(text.replace('Version: 1\n', '  Version: 1\n')).code).toBe('SHARE_MALFORMED');
  });

  test('a line that is not "Field: value" is refused', () => {
    expect(refusal(text.replace('Threshold: 3\n', 'Threshold: 3\nnot a field\n')).code).toBe('SHARE_MALFORMED');
    expect(refusal(text.replace('Threshold: 3', 'Threshold 3')).code).toBe('SHARE_MALFORMED');
  });

  test('an empty field is missing, not zero', () => {
    expect(refusal(text.replace('Threshold: 3', 'Threshold:')).code).toBe('SHARE_MALFORMED');
    expect(refusal(text.replace('Threshold: 3', 'Threshold:   ')).code).toBe('SHARE_MALFORMED');
  });

  test('an envelope with nothing inside, or only its BEGIN line, is refused', () => {
    for (const input of ['-----BEGIN QUORUM SHARE-----\n-----END QUORUM SHARE-----\n', '-----BEGIN QUORUM SHARE WORDS-----\n-----END QUORUM SHARE WORDS-----\n', '-----BEGIN QUORUM SHARE-----\n']) {
      expect(refusal(input).code).toBe('SHARE_MALFORMED');
    }
  });

  test('a text envelope closed by the words END line (or the reverse) is refused', () => {
    expect(refusal(text.replace('-----END QUORUM SHARE-----', '-----END QUORUM SHARE WORDS-----')).code).toBe('SHARE_MALFORMED');
    expect(refusal(words.replace('-----END QUORUM SHARE WORDS-----', '-----END QUORUM SHARE-----')).code).toBe('SHARE_MALFORMED');
  });

  test('an encrypted share is told to be decrypted first', () => {
    expect(refusal('-----BEGIN PGP MESSAGE-----\n\nabc\n-----END PGP MESSAGE-----\n').message).toMatch(/decrypt it first/);
  });
});

describe("a share's numbers are read as written, with at most three digits", () => {
  test.each([
    ['a four-digit index', 'Share: 2 of 5', 'Share: 1002 of 5'],
    ['a four-digit total', 'Share: 2 of 5', 'Share: 2 of 1005'],
    ['a four-digit threshold', 'Threshold: 3', 'Threshold: 1003'],
    ['a signed threshold', 'Threshold: 3', 'Threshold: +3'],
    ['text after the total', 'Share: 2 of 5', 'Share: 2 of 5 x'],
    ['text before the index', 'Share: 2 of 5', 'Share: x2 of 5'],
    ['a threshold with a suffix', 'Threshold: 3', 'Threshold: 3x'],
    ['a threshold with a prefix', 'Threshold: 3', 'Threshold: x3'],
  ])('refuses %s as SHARE_MALFORMED', (_name, from, to) => {
    expect(refusal(text.replace(from, to)).code).toBe('SHARE_MALFORMED');
  });

  test('a share whose hex fields are written with dashes and spaces in other places still parses', () => {
    const set = /Set: (.*)/.exec(text)![1]!;
    expect(same(parseShare(text.replace(set, set.replace(/-/g, ' ')), 'spaced'))).toBe(true);
  });

  test('a hex field one digit short or one digit long is a typo of that custodian (SHARE_INVALID), named by count', () => {
    const set = /Set: (.*)/.exec(text)![1]!;
    const short = refusal(text.replace(set, set.slice(0, -1)));
    expect(short).toMatchObject({ code: 'SHARE_INVALID' });
    expect(short.message).toMatch(/15 hex digits in its set field instead of 16/);
    const long = refusal(text.replace(set, `${set}0`));
    expect(long.message).toMatch(/17 hex digits in its set field instead of 16/);
  });
});

describe('the words envelope', () => {
  test('line numbers are optional and may be written "3.", "3)" or "3:"; words may be split by commas', () => {
    const bare = words.replace(/^\s*\d+: /gm, '');
    expect(same(parseShare(bare, 'bare'))).toBe(true);
    const dotted = words.replace(/^\s*(\d+): /gm, '$1. ');
    expect(same(parseShare(dotted, 'dotted'))).toBe(true);
    const paren = words.replace(/^\s*(\d+): /gm, '$1) ');
    expect(same(parseShare(paren, 'paren'))).toBe(true);
    const commas = words.replace(/^(\s*\d+: )(.*)$/gm, (_, n: string, ws: string) => n + ws.split(' ').join(', '));
    expect(commas).toContain(', ');
    expect(same(parseShare(commas, 'commas'))).toBe(true);
  });

  test('a number where a word belongs is a typo named by its place, not a line number', () => {
    const lines = words.split('\n');
    lines[3] = lines[3]!.replace(/^(\s*2: \w+) \w+/, '$1 42');
    const r = refusal(lines.join('\n'));
    expect(r.code).toBe('SHARE_INVALID');
    expect(r.message).toMatch(/not a word near word 10 \(line 4, word 2\)/);
  });

  test('a words envelope without its Custodian line is refused', () => {
    expect(refusal(words.replace(/Custodian: bob\n/, '')).code).toBe('SHARE_MALFORMED');
    expect(refusal(words.replace('Custodian: bob', 'Owner: bob')).code).toBe('SHARE_MALFORMED');
  });

  test('one word too many is counted (82 instead of 81), not silently dropped', () => {
    // Word 82 is at an odd position (index 81): a word of the odd list, so only the count can see it.
    const r = refusal(words.replace('\n-----END', ` ${ODD_WORDS[0]}\n-----END`));
    expect(r.code).toBe('SHARE_INVALID');
    expect(r.message).toMatch(/82 words instead of 81/);
  });
});

describe('where a typo is said to be', () => {
  test('a mistyped digit of the Set field is named by its line and group', () => {
    const from = text.indexOf('Set: ') + 5;
    const c = text[from]!;
    const typo = text.slice(0, from) + (c === '0' ? '1' : '0') + text.slice(from + 1);
    expect(refusal(typo).message).toContain('line 3 of the share (counting its BEGIN line as 1), group 1 of the Set field, looks mistyped');
  });

  test('two typos in different groups are not pinned on one place (only "a character was mistyped")', () => {
    const from = text.indexOf('Data: ') + 6;
    const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === '0' ? '1' : '0') + s.slice(at + 1);
    const r = refusal(flip(flip(text, from), from + 10));
    expect(r.code).toBe('SHARE_INVALID');
    expect(r.message).toMatch(/a character was mistyped or changed; compare it with the original/);
    expect(r.message).not.toMatch(/looks mistyped/);
  });
});

describe('the envelope lines themselves', () => {
  test('a share whose BEGIN line was changed is refused, text or words (the body alone is not a share)', () => {
    expect(refusal(text.replace('-----BEGIN QUORUM SHARE-----', '-----BEGIN QUORUM SHARD-----')).code).toBe('SHARE_MALFORMED');
    expect(refusal(words.replace('-----BEGIN QUORUM SHARE WORDS-----', '-----BEGIN QUORUM SHARD WORDS-----')).code).toBe('SHARE_MALFORMED');
  });

  test('a share saved with a byte-order mark (a Windows editor) or indented as a whole (a quoted e-mail) parses', () => {
    expect(same(parseShare(`\uFEFF${text}`, 'bom'))).toBe(true);
    expect(same(parseShare(Buffer.from(`\uFEFF${words}`), 'bom'))).toBe(true);
    const indented = text.replace('-----BEGIN QUORUM SHARE-----', '  -----BEGIN QUORUM SHARE-----').replace('-----END QUORUM SHARE-----', '  -----END QUORUM SHARE-----');
    expect(same(parseShare(indented, 'indented'))).toBe(true);
  });

  test('a text share without its Custodian field is SHARE_MALFORMED, not a crash', () => {
    expect(refusal(text.replace('Custodian: bob\n', ''))).toEqual({ code: 'SHARE_MALFORMED', message: expect.stringContaining('the Custodian field is missing') });
  });

  test('only an OpenPGP message is told to be decrypted; other text is told what a share looks like', () => {
    expect(refusal('hello\nworld\n').message).toMatch(/does not start with -----BEGIN QUORUM SHARE----- \(or -----BEGIN QUORUM SHARE WORDS-----\)/);
    expect(refusal('hello\nworld\n').message).not.toMatch(/decrypt/);
  });
});

describe('what a refusal tells (the source and custodian for the JSON error, the reason in the sentence)', () => {
  const error = (input: string) => {
    try {
      parseShare(input, 'shares/bob.share');
    } catch (e) {
      if (isCeremonyError(e)) return e;
      throw e;
    }
    throw new Error('parsed');
  };

  test('a malformed share names its source; a mistyped one names its source and custodian', () => {
    expect(error('hello').details).toEqual({ source: 'shares/bob.share' });
    expect(error(text.replace('Threshold: 3', 'Threshold: 2')).details).toEqual({ source: 'shares/bob.share', custodian: 'bob' });
  });

  test('a located typo keeps its source and custodian in the JSON error', () => {
    const from = text.indexOf('Data: ') + 6;
    const e = error(text.slice(0, from) + (text[from] === '0' ? '1' : '0') + text.slice(from + 1));
    expect(e.message).toMatch(/looks mistyped/);
    expect(e.details).toEqual({ source: 'shares/bob.share', custodian: 'bob' });
  });

  test('an empty hex field is a missing field (SHARE_MALFORMED, exit 2), not a typo', () => {
    const set = /Set: (.*)/.exec(text)![1]!;
    expect(error(text.replace(`Set: ${set}`, 'Set:')).code).toBe('SHARE_MALFORMED');
    expect(error(text.replace(`Set: ${set}`, 'Set:')).message).toContain('the Set field is missing');
  });

  test('each limit and format refusal says which', () => {
    expect(error('x'.repeat(8193)).message).toContain('it is larger than 8192 bytes');
    expect(error(text.replace('Version: 1\n', `Version: 1\n${'\n'.repeat(70)}`)).message).toContain('it has more than 64 lines');
    expect(error(text.replace('Version: 1', 'Version: 22222222222222')).message).toContain('share format version "2222222222", and this application reads version 1');
    expect(error(text.replace('Custodian: bob', 'Custodian: ../bob')).message).toContain('the Custodian field is not a valid custodian name');
    expect(error(formatShare(copy(bob, { index: 6 }))).message).toContain('its numbers do not fit together (share 6 of 5, threshold 3)');
    expect(error(formatShareWords(copy(bob, { version: 2 as 1 }))).message).toContain('it is in share format version 2, and this application reads version 1');
  });
});
