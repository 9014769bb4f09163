/**
 * What parseShare reports, sentence by sentence (issue 16): a custodian is told exactly what is wrong with the
 * share they typed, and an operator reading `error[CODE]: sentence` can act on it. A change to any reason below
 * (an emptied sentence, a wrong word count, a place shifted by one) changes what a person is told, so each is
 * asserted whole, with its code (SHARE_MALFORMED exit 2 for structure, SHARE_INVALID exit 1 for a typo).
 */
import { describe, expect, test } from 'vitest';
import { formatShare, formatShareWords, shareFileName } from '../../../ceremony/quorum/share.js';
import { EVEN_WORDS } from '../../../ceremony/quorum/words.js';
import { makeSet, refusal } from './fixture.js';

const { split } = await makeSet();
const bob = split.shares[1]!;
const text = formatShare(bob);
const words = formatShareWords(bob);

const malformed = (why: string) => ({ code: 'SHARE_MALFORMED', message: `bob.share is not a readable quorum share: ${why}` });
const invalid = (why: string) => ({ code: 'SHARE_INVALID', message: `the share of bob (bob.share) ${why}` });

/** The words envelope with word 2 of its line 4 (word 10 of the share) replaced. */
const wordTen = (w: string) => {
  const lines = words.split('\n');
  lines[3] = lines[3]!.replace(/^(\s*2: \w+) \w+/, `$1 ${w}`);
  return lines.join('\n');
};

const NO_ENVELOPE = 'it does not start with -----BEGIN QUORUM SHARE----- (or -----BEGIN QUORUM SHARE WORDS-----) and end with the matching END line';

describe('each structure fault is SHARE_MALFORMED with its own sentence', () => {
  test.each([
    ['an empty text envelope (BEGIN and END only)', '-----BEGIN QUORUM SHARE-----\n-----END QUORUM SHARE-----\n', NO_ENVELOPE],
    ['an empty words envelope (BEGIN and END only)', '-----BEGIN QUORUM SHARE WORDS-----\n-----END QUORUM SHARE WORDS-----\n', NO_ENVELOPE],
    ['an indented line under a field that does not continue', text.replace('Threshold: 3\n', 'Threshold: 3\n  4\n'), 'a line starts with spaces where a field was expected'],
    ['a line that is not "Field: value"', text.replace('Threshold: 3\n', 'Threshold: 3\nnot a field\n'), 'a line is not of the form "Field: value"'],
    ['an unknown field, its name cut to 20 letters', text.replace('Threshold: 3\n', 'Threshold: 3\nCommentaryisalongfieldname: x\n'), 'it has an unknown field "Commentaryisalongfie"'],
    ['a field given twice', text.replace('Threshold: 3\n', 'Threshold: 3\nThreshold: 3\n'), 'the field "Threshold" appears twice'],
    ['a Share field in words', text.replace('Share: 2 of 5', 'Share: two of five'), 'the Share field is not of the form "2 of 5"'],
    ['a Threshold field in words', text.replace('Threshold: 3', 'Threshold: three'), 'the Threshold field is not a number'],
    ['a words envelope without its Custodian line', words.replace('Custodian: bob', 'Owner: bob'), 'the words envelope does not start with a Custodian line'],
    // A version that is not valid UTF-16 is quoted as it was read, not re-encoded on the way.
    ['a version with a lone surrogate', text.replace('Version: 1', 'Version: \uD800'), 'it is in share format version "\uD800", and this application reads version 1'],
  ])('%s', (_name, input, why) => {
    expect(refusal(input)).toEqual(malformed(why));
  });

  test('an invalid custodian name is refused by shareFileName with its own sentence', () => {
    expect(() => shareFileName('../alice', false)).toThrow(new RangeError('not a valid custodian name'));
  });
});

describe('each typo in a words envelope is SHARE_INVALID and named by its place', () => {
  test.each([
    ['a token with a digit after its letters', wordTen('aardvark1'), 'has something that is not a word near word 10 (line 4, word 2): it was mistyped'],
    ['a token with a digit before its letters', wordTen('1aardvark'), 'has something that is not a word near word 10 (line 4, word 2): it was mistyped'],
    ['a word of the other list (swapped, dropped or repeated words)', wordTen(EVEN_WORDS[0]!), 'has a word from the wrong list at word 10 (line 4, word 2): words were swapped, dropped or repeated there'],
    ['a misspelt word', wordTen('zzzz'), 'has a word that is not in the word list at word 10 (line 4, word 2): it was misspelt'],
  ])('%s', (_name, input, why) => {
    expect(refusal(input)).toEqual(invalid(why));
  });
});
