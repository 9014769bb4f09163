/**
 * Which hand-copied forms of a share are read and which are refused (issue 16). Read: the forms a person
 * produces copying a share by hand (an indented Custodian line, two spaces in "2  of 5", "1:word" or "1 : word"
 * line numbers). Refused: text that hides or smuggles something past the field parser (a byte-order mark inside a
 * name, characters before a field name, a lone carriage return that would cut a line short, a number between words).
 */
import { describe, expect, test } from 'vitest';
import { formatShare, formatShareWords, parseShare, type Share } from '../../../ceremony/quorum/share.js';
import { makeSet, refusal } from './fixture.js';

const { split } = await makeSet();
const bob = split.shares[1]!;
const text = formatShare(bob);
const words = formatShareWords(bob);

const same = (s: Share) => s.data.equals(bob.data) && s.index === bob.index && s.custodian === bob.custodian;
const NOT_A_FIELD = 'bob.share is not a readable quorum share: a line is not of the form "Field: value"';
const NO_CUSTODIAN_LINE = 'bob.share is not a readable quorum share: the words envelope does not start with a Custodian line';

describe('hidden or smuggled text is refused, not read past', () => {
  test('a byte-order mark inside the custodian name is not dropped: the name is refused', () => {
    expect(refusal(text.replace('Custodian: bob', 'Custodian: bo\uFEFFb'))).toEqual({
      code: 'SHARE_MALFORMED',
      message: 'bob.share is not a readable quorum share: the Custodian field is not a valid custodian name',
    });
  });

  test('characters before a field name are refused, not skipped to the name', () => {
    expect(refusal(text.replace('Threshold: 3', '#Threshold: 3'))).toEqual({ code: 'SHARE_MALFORMED', message: NOT_A_FIELD });
    expect(refusal(words.replace('Custodian: bob', 'xCustodian: bob'))).toEqual({ code: 'SHARE_MALFORMED', message: NO_CUSTODIAN_LINE });
  });

  test('a lone carriage return inside a line does not cut the line short (the text after it would be ignored)', () => {
    expect(refusal(text.replace('Threshold: 3', 'Threshold: 3\rjunk'))).toEqual({ code: 'SHARE_MALFORMED', message: NOT_A_FIELD });
    expect(refusal(words.replace('Custodian: bob', 'Custodian: bob\rjunk'))).toEqual({ code: 'SHARE_MALFORMED', message: NO_CUSTODIAN_LINE });
  });

  test('a line number between the words of a line is a typo, not a second line number', () => {
    const bare = words.replace(/^\s*\d+: /gm, '').split('\n');
    bare[3] = bare[3]!.replace(/^(\w+) /, '$1 9: ');
    expect(refusal(bare.join('\n'))).toEqual({
      code: 'SHARE_INVALID',
      message: 'the share of bob (bob.share) has something that is not a word near word 10 (line 4, word 2): it was mistyped',
    });
  });
});

describe('hand-copied forms are read', () => {
  test('an indented Custodian line in a words envelope', () => {
    expect(same(parseShare(words.replace('Custodian: bob', '   Custodian: bob'), 'indented'))).toBe(true);
  });

  test('two spaces around "of" in the Share field', () => {
    expect(same(parseShare(text.replace('Share: 2 of 5', 'Share: 2  of  5'), 'spaced'))).toBe(true);
  });

  test('line numbers written "1:word" or "1 : word"', () => {
    expect(same(parseShare(words.replace(/^\s*(\d+): /gm, '$1:'), 'tight'))).toBe(true);
    expect(same(parseShare(words.replace(/^\s*(\d+): /gm, '$1 : '), 'loose'))).toBe(true);
  });
});
