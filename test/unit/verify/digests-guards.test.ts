/**
 * The guards of the DIGESTS parser (ceremony/digests/parse.ts) the layout tests do not isolate (issue 16): names that
 * would reach outside the release folder or hide characters, lines that are only partly a digest line, and the
 * size and line limits at and one past the limit. Refusals are asserted by code and by the facts their message
 * must carry (source, line number, a reason), not by wording.
 */
import { describe, expect, it } from 'vitest';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { digestsForFile, MAX_DIGESTS_BYTES, parseDigests } from '../../../ceremony/digests/parse.js';

const MD5 = '49a47621bea507844e244557f3db227d';
const SHA512 = '6de5272a7edc96f8d07d4daa10bd2b16b07f464f7f8e86bc85167e319a135ed914d978783e98c9df7e3cddf139febccdd93ed280274c99b642e3fbec43e823b8';
const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function refusal(text: string, source = 'release.DIGESTS'): { code: string; message: string } {
  try {
    parseDigests(text, source);
  } catch (e) {
    if (!isCeremonyError(e)) throw e;
    return { code: e.code, message: e.message };
  }
  throw new Error('parsed without complaint');
}

describe('listed names must be plain basenames', () => {
  it.each([
    ['the current folder', '.'],
    ['the parent folder', '..'],
    ['a path into another folder', 'sub/file.bin'],
    ['a Windows path', 'sub\\file.bin'],
    ['a control character at the end (hidden on a terminal)', 'file.bin\u0001'],
    ['an escape sequence that rewrites the terminal', '\u001b[2Kfile.bin'],
    ['DEL', 'file.bin\u007f'],
  ])('refuses %s as DIGESTS_MALFORMED, naming the line', (_what, name) => {
    const r = refusal(`# MD5 HASH\n${MD5}  ${name}\n`);
    expect(r.code).toBe('DIGESTS_MALFORMED');
    expect(r.message).toMatch(/release\.DIGESTS line 2: \S/);
  });

  it('accepts names with spaces and dots, which are plain basenames', () => {
    const entries = parseDigests(`# MD5 HASH\n${MD5}  my file.v1.bin\n${MD5}  .hidden\n${MD5}  ...\n`, 's');
    expect(entries.map((e) => e.name)).toEqual(['my file.v1.bin', '.hidden', '...']);
  });

  it('a carriage return inside a line is not a line end: the rest of the line cannot be dropped silently', () => {
    expect(refusal(`# MD5 HASH\n${MD5}  file.bin\rjunk\n`).code).toBe('DIGESTS_MALFORMED');
  });
});

describe('every line is a whole header or a whole digest line', () => {
  it('refuses a header with text before or after it', () => {
    expect(refusal(`x# MD5 HASH\n${MD5}  f\n`).code).toBe('DIGESTS_MALFORMED');
    expect(refusal(`# MD5 HASH and more\n${MD5}  f\n`).code).toBe('DIGESTS_MALFORMED');
  });

  it('refuses a digest line with a non-hex character in front of the digest', () => {
    const r = refusal(`# MD5 HASH\ng${MD5}  f\n`);
    expect(r.code).toBe('DIGESTS_MALFORMED');
    expect(r.message).toMatch(/line 2: \S/);
  });

  it('refuses a digest before any header, a line that is neither, and a wrong length, each with its line and a reason', () => {
    for (const [text, line] of [
      [`${MD5}  f\n`, 1],
      ['# MD5 HASH\nnot a digest line\n', 2],
      [`# MD5 HASH\n\n${MD5.slice(1)}  f\n`, 3],
    ] as const) {
      const r = refusal(text, 'src');
      expect(r.code).toBe('DIGESTS_MALFORMED');
      expect(r.message).toMatch(new RegExp(`^src line ${line}: \\S`));
    }
    expect(refusal(`# MD5 HASH\n${MD5.slice(1)}  f\n`).message).toContain('MD5');
  });

  it('reads SHA-256 sections, and strips any run of trailing spaces and tabs', () => {
    const entries = parseDigests(`# SHA256 HASH\n${SHA256}  f.bin \t \n# SHA512 HASH\n${SHA512} *f.bin\t\t\n`, 's');
    expect(entries).toEqual([
      { algorithm: 'sha256', hex: SHA256, name: 'f.bin', line: 2 },
      { algorithm: 'sha512', hex: SHA512, name: 'f.bin', line: 4 },
    ]);
  });

  it('a digest listed twice with the same value is one entry; with two values it is refused naming the algorithm', () => {
    expect(parseDigests(`# MD5 HASH\n${MD5}  f\n${MD5.toUpperCase()}  f\n`, 's')).toHaveLength(1);
    const r = refusal(`# MD5 HASH\n${MD5}  f\n${'0'.repeat(32)}  f\n`);
    expect(r.code).toBe('DIGESTS_MALFORMED');
    expect(r.message).toMatch(/line 3: \S/);
    expect(r.message).toContain('MD5');
  });

  it('a file the list does not name, or names without SHA-512, is refused naming the list and the file', () => {
    const entries = parseDigests(`# MD5 HASH\n${MD5}  weak.bin\n`, 's');
    for (const name of ['weak.bin', 'absent.bin']) {
      try {
        digestsForFile(entries, name, 'list.DIGESTS');
        throw new Error('accepted');
      } catch (e) {
        expect(isCeremonyError(e, 'DIGEST_MISSING')).toBe(true);
        expect((e as Error).message).toContain('list.DIGESTS');
        expect((e as Error).message).toContain(name);
      }
    }
  });
});

describe('size and line limits of an untrusted DIGESTS (DoS guards)', () => {
  const list = `# SHA512 HASH\n${SHA512}  f.bin\n`;

  it('a list of exactly 1 MiB is read, one byte more is refused', () => {
    expect(MAX_DIGESTS_BYTES).toBe(1_048_576);
    const atLimit = list + ' '.repeat(1_048_576 - list.length);
    expect(parseDigests(atLimit, 's')).toHaveLength(1);
    const r = refusal(atLimit + ' ', 'big.DIGESTS');
    expect(r.code).toBe('DIGESTS_MALFORMED');
    expect(r.message).toContain('big.DIGESTS');
  });

  it('a list of exactly 100000 lines is read, one line more is refused', () => {
    const atLimit = list + '\n'.repeat(100_000 - 3);
    expect(atLimit.split('\n')).toHaveLength(100_000);
    expect(parseDigests(atLimit, 's')).toHaveLength(1);
    const r = refusal(atLimit + '\n', 'long.DIGESTS');
    expect(r.code).toBe('DIGESTS_MALFORMED');
    expect(r.message).toContain('long.DIGESTS');
  });
});
