import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { formatShare, formatShareWords, parseShare, MAX_SHARE_TEXT_BYTES } from '../../../ceremony/quorum/share.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { makeSet } from './fixture.js';
import { expectNoSecretIn } from './leak.js';

const { secret, split } = await makeSet();
const bob = split.shares[1]!;
const text = formatShare(bob);
const words = formatShareWords(bob);

function refusal(input: string): { code: string; message: string } {
  try {
    parseShare(input, 'bob.share');
  } catch (e) {
    if (!isCeremonyError(e)) throw e;
    expectNoSecretIn(e.message + JSON.stringify(e.toJSON()), [secret, ...split.shares.map((s) => s.data)]);
    return { code: e.code, message: e.message };
  }
  throw new Error('parsed without complaint');
}

/** Replace the character at `at` with another character of the same kind. */
function mistype(s: string, at: number): string {
  const c = s[at]!;
  const hex = '0123456789abcdef';
  const repl = hex.includes(c) ? hex[(hex.indexOf(c) + 1) % 16]! : c === 'z' ? 'y' : String.fromCharCode(c.charCodeAt(0) + 1);
  return s.slice(0, at) + repl + s.slice(at + 1);
}

describe('share envelope', () => {
  test('text and words envelopes both parse back to the same share', () => {
    for (const form of [text, words]) {
      const s = parseShare(form, 'bob.share');
      expect({ ...s, data: s.data.toString('hex') }).toEqual({ ...bob, data: bob.data.toString('hex') });
    }
  });

  test('the envelope carries version, set, custodian, index, k, n, commitment, data and checksum', () => {
    expect(text).toMatch(/^-----BEGIN QUORUM SHARE-----\nVersion: 1\nSet: [0-9a-f]{4}(-[0-9a-f]{4}){3}\nCustodian: bob\nShare: 2 of 5\nThreshold: 3\nCommitment: /);
    expect(text).toMatch(/\nChecksum: [0-9a-f]{4}-[0-9a-f]{4}\n-----END QUORUM SHARE-----\n$/);
  });

  test('tolerates CRLF, surrounding blank lines, indentation changes, upper-case hex and field names', () => {
    const messy = '\n\n' + text.replace(/\n/g, '\r\n').replace(/Data:/, 'DATA:').replace(/[0-9a-f]{4}/g, (m) => m.toUpperCase()) + '\r\n\r\n';
    expect(parseShare(messy, 'x').data.equals(bob.data)).toBe(true);
    expect(parseShare(words.toUpperCase().replace('CUSTODIAN: BOB', 'Custodian: bob'), 'x').data.equals(bob.data)).toBe(true);
  });

  test('typo attack: a mistyped character anywhere in the share data is caught and the custodian named', () => {
    const dataStart = text.indexOf('Data: ') + 6;
    const dataEnd = text.indexOf('\nChecksum');
    let checked = 0;
    for (let at = dataStart; at < dataEnd; at++) {
      if (!/[0-9a-f]/.test(text[at]!)) continue;
      const r = refusal(mistype(text, at));
      expect(r.code).toBe('SHARE_INVALID');
      expect(r.message).toContain('bob');
      expect(r.message).toContain('bob.share');
      checked++;
    }
    expect(checked).toBe(66);
  });

  test('a mistyped hex digit is named by the line and group it is in, as the custodian sees it on paper', () => {
    let named = 0;
    for (const field of ['Commitment: ', 'Data: ', 'Checksum: ']) {
      const from = text.indexOf(field) + field.length;
      for (let at = from; at < from + 30; at++) {
        if (!/[0-9a-f]/.test(text[at]!)) continue;
        const r = refusal(mistype(text, at));
        const line = text.slice(0, at).split('\n').length;
        const lineStart = text.lastIndexOf('\n', at) + 1;
        const group = text.slice(lineStart, at).replace(/^[A-Za-z]+:/, '').split(/[\s-]+/).filter(Boolean).length + (/[0-9a-f]/.test(text[at - 1]!) ? 0 : 1);
        expect(r.message).toContain(`line ${line} of the share (counting its BEGIN line as 1), group ${group} of the ${field.slice(0, -2)} field, looks mistyped`);
        named++;
      }
    }
    expect(named).toBe(56);
  });

  test('typo attack: a changed index, threshold, set, commitment or checksum digit fails the checksum', () => {
    const edits = [
      text.replace('Share: 2 of 5', 'Share: 3 of 5'),
      text.replace('Threshold: 3', 'Threshold: 2'),
      mistype(text, text.indexOf('Set: ') + 5),
      mistype(text, text.indexOf('Commitment: ') + 12),
      mistype(text, text.indexOf('Checksum: ') + 10),
      text.replace('Custodian: bob', 'Custodian: bobb'),
    ];
    for (const e of edits) expect(refusal(e).code).toBe('SHARE_INVALID');
  });

  test('transposition attack: two swapped neighbouring hex digits are caught', () => {
    const at = text.indexOf('Data: ') + 6;
    let swapped = 0;
    for (let i = at; i < at + 40; i++) {
      const [a, b] = [text[i]!, text[i + 1]!];
      if (!/[0-9a-f]/.test(a) || !/[0-9a-f]/.test(b) || a === b) continue;
      expect(refusal(text.slice(0, i) + b + a + text.slice(i + 2)).code).toBe('SHARE_INVALID');
      swapped++;
    }
    expect(swapped).toBeGreaterThan(10);
  });

  test('a dropped hex digit or a non-hex character is named as a typo of that custodian', () => {
    const at = text.indexOf('Data: ') + 7;
    expect(refusal(text.slice(0, at) + text.slice(at + 1))).toMatchObject({ code: 'SHARE_INVALID' });
    expect(refusal(text.slice(0, at) + 'g' + text.slice(at + 1)).message).toMatch(/bob.*not a hex digit/);
  });

  test('swapped words attack: two swapped words are caught at their position', () => {
    const lines = words.split('\n');
    // " 2: w1 w2 ...": swap the first two words of line 2 (words 9 and 10)
    lines[3] = lines[3]!.replace(/^(\s*2: )(\w+) (\w+)/, '$1$3 $2');
    const r = refusal(lines.join('\n'));
    expect(r.code).toBe('SHARE_INVALID');
    expect(r.message).toMatch(/bob.*word 9 \(line 4, word 1\)/);
  });

  test('a misspelt, dropped or mistaken-but-valid word is caught', () => {
    const lines = words.split('\n');
    const misspelt = [...lines];
    misspelt[2] = misspelt[2]!.replace(/(\d: )(\w+)/, (_, p: string, w: string) => p + w.slice(0, -1) + (w.endsWith('x') ? 'y' : 'x'));
    expect(refusal(misspelt.join('\n')).message).toMatch(/word 1\b.*misspelt/);
    const dropped = [...lines];
    dropped[12] = ''; // the last line holds the last word: one word short
    expect(refusal(dropped.join('\n')).message).toMatch(/80 words instead of 81/);
    // a real word of the right list but the wrong one: only the checksum can catch it
    const other = [...lines];
    other[2] = other[2]!.replace(/(\d: )(\w+)/, (_, p: string, w: string) => p + (w === 'aardvark' ? 'absurd' : 'aardvark'));
    expect(refusal(other.join('\n')).message).toMatch(/checksum/);
  });

  test.each([
    ['empty input', ''],
    ['no envelope', 'hello'],
    ['no END line', text.replace('-----END QUORUM SHARE-----', '')],
    ['a missing field', text.replace(/Threshold: 3\n/, '')],
    ['a repeated field', text.replace('Threshold: 3\n', 'Threshold: 3\nThreshold: 3\n')],
    ['an unknown field', text.replace('Threshold: 3\n', 'Threshold: 3\nComment: hi\n')],
    ['an unknown version', text.replace('Version: 1', 'Version: 2')],
    ['a bad Share field', text.replace('Share: 2 of 5', 'Share: two of five')],
    ['a bad custodian name', text.replace('Custodian: bob', 'Custodian: ../bob')],
    ['an encrypted share', '-----BEGIN PGP MESSAGE-----\n\nabc\n-----END PGP MESSAGE-----\n'],
    ['too many lines', text.replace('Version: 1\n', 'Version: 1\n' + '\n'.repeat(70))],
  ])('refuses %s as SHARE_MALFORMED', (_name, input) => {
    expect(refusal(input).code).toBe('SHARE_MALFORMED');
  });

  test('refuses oversized input before reading it', () => {
    expect(refusal('x'.repeat(MAX_SHARE_TEXT_BYTES + 1)).code).toBe('SHARE_MALFORMED');
    expect(() => parseShare(Buffer.alloc(MAX_SHARE_TEXT_BYTES + 1), 'big')).toThrow(/larger than/);
  });

  test('fuzz: arbitrary text never crashes the parser (only SHARE_MALFORMED or SHARE_INVALID)', () => {
    const mutated = fc
      .tuple(fc.constantFrom(text, words), fc.nat(), fc.string({ maxLength: 8 }), fc.nat({ max: 8 }))
      .map(([t, at, ins, del]) => t.slice(0, at % t.length) + ins + t.slice((at % t.length) + del));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 2000 }), fc.string({ unit: 'binary', maxLength: 500 }), mutated), (input) => {
        try {
          parseShare(input, 'fuzz');
          return true;
        } catch (e) {
          return isCeremonyError(e) && (e.code === 'SHARE_MALFORMED' || e.code === 'SHARE_INVALID');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
