import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { EVEN_WORDS, ODD_WORDS } from '../../../ceremony/quorum/words.js';
import { bytesToWords, wordsToBytes } from '../../../ceremony/quorum/word-encoding.js';

describe('PGP word lists', () => {
  test('each list has 256 distinct lower-case words and the two lists share none', () => {
    expect(EVEN_WORDS).toHaveLength(256);
    expect(ODD_WORDS).toHaveLength(256);
    expect(new Set(EVEN_WORDS).size).toBe(256);
    expect(new Set(ODD_WORDS).size).toBe(256);
    expect(EVEN_WORDS.filter((w) => ODD_WORDS.includes(w))).toEqual([]);
    for (const w of [...EVEN_WORDS, ...ODD_WORDS]) expect(w).toMatch(/^[a-z]+$/);
  });

  test('spot values of the published list (first and last of each list)', () => {
    expect([EVEN_WORDS[0], EVEN_WORDS[0xff]]).toEqual(['aardvark', 'zulu']);
    expect([ODD_WORDS[0], ODD_WORDS[0xff]]).toEqual(['adroitness', 'yucatan']);
  });

  test('every byte value maps to one word and back at even and odd positions (a bijection)', () => {
    const all = Buffer.from(Array.from({ length: 512 }, (_, i) => i >> 1));
    const words = bytesToWords(all);
    expect(new Set(words).size).toBe(512);
    const back = wordsToBytes(words);
    expect(back.ok && back.bytes.equals(all)).toBe(true);
  });

  test('round-trips arbitrary bytes, ignoring case', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const words = bytesToWords(bytes).map((w, i) => (i % 3 === 0 ? w.toUpperCase() : w));
        const back = wordsToBytes(words);
        return back.ok && back.bytes.equals(Buffer.from(bytes));
      }),
    );
  });

  test('two swapped neighbouring words are caught at the first of them (wrong list)', () => {
    const words = bytesToWords(Buffer.from([1, 2, 3, 4, 5, 6]));
    [words[2], words[3]] = [words[3]!, words[2]!];
    expect(wordsToBytes(words)).toEqual({ ok: false, position: 3, problem: 'wrong-list' });
  });

  test('a dropped word is caught where the parity breaks', () => {
    const words = bytesToWords(Buffer.from([1, 2, 3, 4, 5, 6]));
    words.splice(1, 1);
    expect(wordsToBytes(words)).toMatchObject({ ok: false, position: 2, problem: 'wrong-list' });
  });

  test('a misspelt word is named by its position', () => {
    const words = bytesToWords(Buffer.from([1, 2, 3, 4]));
    words[3] = words[3]!.slice(0, -1) + 'q';
    expect(wordsToBytes(words)).toEqual({ ok: false, position: 4, problem: 'unknown-word' });
  });
});
