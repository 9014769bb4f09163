/**
 * Bytes as PGP words and back (the lists in words.ts). Byte i is written with the EVEN list when i is even
 * and the ODD list when i is odd, so a word from the wrong list at a position means words were swapped,
 * dropped or doubled there; a word in neither list is a misspelling. Either way the position is named.
 */
import { EVEN_WORDS, ODD_WORDS } from './words.js';

const EVEN_INDEX = new Map(EVEN_WORDS.map((w, i) => [w, i]));
const ODD_INDEX = new Map(ODD_WORDS.map((w, i) => [w, i]));

export function bytesToWords(bytes: Uint8Array): string[] {
  return Array.from(bytes, (b, i) => (i % 2 === 0 ? EVEN_WORDS[b]! : ODD_WORDS[b]!));
}

export type WordsResult =
  | { ok: true; bytes: Buffer }
  | { ok: false; position: number; problem: 'unknown-word' | 'wrong-list' };

/** Words (any case) back to bytes; `position` in a failure is 1-based, as people count. */
export function wordsToBytes(words: readonly string[]): WordsResult {
  const out = Buffer.alloc(words.length);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!.toLowerCase();
    const own = i % 2 === 0 ? EVEN_INDEX : ODD_INDEX;
    const other = i % 2 === 0 ? ODD_INDEX : EVEN_INDEX;
    const v = own.get(w);
    if (v === undefined) {
      out.fill(0);
      return { ok: false, position: i + 1, problem: other.has(w) ? 'wrong-list' : 'unknown-word' };
    }
    out[i] = v;
  }
  return { ok: true, bytes: out };
}
