/** The DIGESTS parser at the edge: Flatcar's layout in, typed entries out, nothing else. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CeremonyError, isCeremonyError } from '../../../ceremony/errors.js';
import { digestsForFile, DIGEST_HEX_LENGTH, parseDigests, type DigestAlgorithm } from '../../../ceremony/digests/parse.js';
import { readClearsignedDigests, splitClearsigned } from '../../../ceremony/digests/signed.js';

const FLATCAR = `# MD5 HASH
49a47621bea507844e244557f3db227d  version.txt
# SHA1 HASH
1737239889ef2f71a2ea8e8026637773c689f334  version.txt
# SHA512 HASH
6de5272a7edc96f8d07d4daa10bd2b16b07f464f7f8e86bc85167e319a135ed914d978783e98c9df7e3cddf139febccdd93ed280274c99b642e3fbec43e823b8  version.txt
`;

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    expect(isCeremonyError(e) && e.code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('parseDigests', () => {
  it("reads Flatcar's layout: one entry per algorithm and file, with line numbers", () => {
    const entries = parseDigests(FLATCAR, 'v.DIGESTS');
    expect(entries.map((e) => [e.algorithm, e.name, e.line])).toEqual([
      ['md5', 'version.txt', 2],
      ['sha1', 'version.txt', 4],
      ['sha512', 'version.txt', 6],
    ]);
    expect(digestsForFile(entries, 'version.txt', 'v')).toHaveLength(3);
  });

  it('refuses a list that names the file without SHA-512, and a file it does not name', () => {
    const weak = parseDigests(FLATCAR.split('\n').slice(0, 4).join('\n'), 'w');
    expectCode(() => digestsForFile(weak, 'version.txt', 'w'), 'DIGEST_MISSING');
    expectCode(() => digestsForFile(parseDigests(FLATCAR, 'v'), 'other.bin', 'v'), 'DIGEST_MISSING');
  });

  it('refuses lines it does not understand, short digests, paths, and contradicting duplicates', () => {
    expectCode(() => parseDigests('49a47621bea507844e244557f3db227d  x\n', 's'), 'DIGESTS_MALFORMED');
    expectCode(() => parseDigests('# MD5 HASH\n49a476  x\n', 's'), 'DIGESTS_MALFORMED');
    expectCode(() => parseDigests('# MD5 HASH\n49a47621bea507844e244557f3db227d  ../etc/passwd\n', 's'), 'DIGESTS_MALFORMED');
    expectCode(() => parseDigests('# CRC32 HASH\n../x  y\n', 's'), 'DIGESTS_MALFORMED');
    expectCode(() => parseDigests('# MD5 HASH\nhello world\n', 's'), 'DIGESTS_MALFORMED');
    expectCode(() => parseDigests(`# MD5 HASH\n${'a'.repeat(32)}  x\n${'b'.repeat(32)}  x\n`, 's'), 'DIGESTS_MALFORMED');
  });

  it('never crashes on arbitrary input: entries or DIGESTS_MALFORMED, nothing else', () => {
    const lineish = fc.oneof(
      fc.string(),
      fc.constantFrom('# MD5 HASH', '# SHA1 HASH', '# SHA512 HASH', '# SHA256 HASH', '', '  '),
      fc.tuple(fc.stringMatching(/^[0-9a-fA-F]{0,130}$/), fc.constantFrom('  ', ' *', ' '), fc.string()).map(([h, s, n]) => `${h}${s}${n}`),
    );
    fc.assert(
      fc.property(fc.array(lineish, { maxLength: 40 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
        try {
          parseDigests(lines.join(eol), 'fuzz');
        } catch (e) {
          if (!(e instanceof CeremonyError) || e.code !== 'DIGESTS_MALFORMED') throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never yields an entry that is not written, under its header, in the text it was given', () => {
    const alg = fc.constantFrom<DigestAlgorithm>('md5', 'sha1', 'sha256', 'sha512');
    const entry = alg.chain((a) =>
      fc.record({
        algorithm: fc.constant(a),
        hex: fc.stringMatching(new RegExp(`^[0-9a-f]{${DIGEST_HEX_LENGTH[a]}}$`)),
        name: fc.stringMatching(/^[A-Za-z0-9_.-]{1,30}$/).filter((n) => n !== '.' && n !== '..'),
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(entry, fc.string({ maxLength: 20 })), { maxLength: 30 }), (items) => {
        let text = '';
        for (const it of items) {
          text += typeof it === 'string' ? `${it}\n` : `# ${it.algorithm.toUpperCase()} HASH\n${it.hex}  ${it.name}\n`;
        }
        let entries;
        try {
          entries = parseDigests(text, 'gen');
        } catch (e) {
          if (isCeremonyError(e, 'DIGESTS_MALFORMED')) return;
          throw e;
        }
        const lines = text.split(/\r?\n/);
        for (const e of entries) {
          const line = lines[e.line - 1]!;
          expect(line.toLowerCase().startsWith(`${e.hex} `)).toBe(true);
          expect(line.replace(/[ \t]+$/, '').endsWith(e.name)).toBe(true);
          const header = lines.slice(0, e.line - 1).reverse().find((l) => /^# [A-Za-z0-9]+ HASH$/i.test(l.replace(/[ \t]+$/, '')))!;
          expect(header.toUpperCase().startsWith(`# ${e.algorithm.toUpperCase()} HASH`)).toBe(true);
        }
        // and everything well-formed that was written is found
        if (items.every((x) => typeof x !== 'string')) expect(entries.length).toBe(new Set(items.map((x) => typeof x === 'string' ? x : `${x.algorithm}/${x.name}`)).size);
      }),
      { numRuns: 300 },
    );
  });
});

describe('clearsigned framing', () => {
  const block = `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n${FLATCAR}-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n`;
  const noMarkers = fc.string().filter((s) => !s.includes('-----BEGIN PGP SIGNED MESSAGE-----'));

  it('text before or after the signed block never changes what is parsed, and is counted', () => {
    fc.assert(
      fc.property(noMarkers, noMarkers, (before, after) => {
        const pre = before === '' ? '' : `${before}\n`;
        const split = splitClearsigned(`${pre}${block}${after}`, 'x');
        expect(split.block).toBe(splitClearsigned(block, 'x').block);
        const counted = [...pre.split('\n'), ...after.split('\n')].filter((l) => l.trim() !== '').length;
        expect(split.ignoredLines).toBe(counted);
      }),
      { numRuns: 1000 },
    );
  });

  it('arbitrary clearsigned-looking input fails only with CeremonyErrors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string(), async (body, sig) => {
        const text = `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n${body}\n-----BEGIN PGP SIGNATURE-----\n\n${sig}\n-----END PGP SIGNATURE-----\n`;
        try {
          await readClearsignedDigests(Buffer.from(text), 'fuzz.asc', { trusted: [], now: new Date(), kinds: ['text'] });
        } catch (e) {
          if (!(e instanceof CeremonyError)) throw e;
          return;
        }
        throw new Error('an unsigned DIGESTS was accepted');
      }),
      { numRuns: 300 },
    );
  });
});
