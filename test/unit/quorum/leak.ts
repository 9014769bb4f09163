/** Assert that a text (an error message, CLI output) carries no secret: no 4-byte window of the secret or of any share's bytes, as hex or as words. */
import { expect } from 'vitest';
import { bytesToWords } from '../../../ceremony/quorum/word-encoding.js';

export function secretWindows(secrets: readonly Uint8Array[]): string[] {
  const out: string[] = [];
  for (const s of secrets) {
    const hex = Buffer.from(s).toString('hex');
    for (let i = 0; i + 8 <= hex.length; i += 2) out.push(hex.slice(i, i + 8));
    // grouped as in the envelope: "abcd ef01"
    const grouped = hex.match(/.{1,4}/g)!.join(' ');
    for (let i = 0; i + 9 <= grouped.length; i += 5) out.push(grouped.slice(i, i + 9));
    // as words, at either parity
    for (const w of [bytesToWords(s), bytesToWords(Buffer.concat([Buffer.alloc(1), s])).slice(1)]) {
      for (let i = 0; i + 3 <= w.length; i++) out.push(w.slice(i, i + 3).join(' '));
    }
  }
  return out;
}

export function expectNoSecretIn(text: string, secrets: readonly Uint8Array[]): void {
  const lower = text.toLowerCase();
  const found = secretWindows(secrets).filter((w) => lower.includes(w));
  expect(found, 'secret bytes appear in the text').toEqual([]);
}
