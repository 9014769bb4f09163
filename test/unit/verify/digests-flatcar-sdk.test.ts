/**
 * DIGESTS as Flatcar's SDK writes them (issue 12.8): Gentoo catalyst adds a `# BLAKE2B HASH` section (b2sum's
 * BLAKE2b-512), headers may come in any letter case, and a section for an algorithm we do not know is reported and
 * skipped rather than making the whole signed list malformed. SHA-512 stays required.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { digestsForFile, parseDigests, parseDigestsList } from '../../../ceremony/digests/parse.js';

const data = Buffer.from('flatcar_developer_container.bin\n');
const b2 = createHash('blake2b512').update(data).digest('hex');
const sha512 = createHash('sha512').update(data).digest('hex');

function code(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    return isCeremonyError(e) ? e.code : 'not a CeremonyError';
  }
}

describe('Flatcar SDK DIGESTS', () => {
  it('reads a BLAKE2B section as BLAKE2b-512 beside SHA-512 instead of refusing the whole list', () => {
    const entries = parseDigests(`# BLAKE2B HASH\n${b2}  sdk.tar.bz2\n# SHA512 HASH\n${sha512}  sdk.tar.bz2\n`, 'DIGESTS');
    expect(entries.map((e) => [e.algorithm, e.hex, e.line])).toEqual([
      ['blake2b512', b2, 2],
      ['sha512', sha512, 4],
    ]);
    expect(digestsForFile(entries, 'sdk.tar.bz2', 'DIGESTS')).toHaveLength(2);
  });

  it('refuses a BLAKE2B digest of the wrong length like any other', () => {
    expect(code(() => parseDigests(`# BLAKE2B HASH\n${b2.slice(0, 64)}  sdk.tar.bz2\n`, 'DIGESTS'))).toBe('DIGESTS_MALFORMED');
  });

  it('accepts section headers in any letter case', () => {
    const entries = parseDigests(`# blake2b hash\n${b2}  f\n# Sha512 Hash\n${sha512}  f\n`, 'DIGESTS');
    expect(entries.map((e) => e.algorithm)).toEqual(['blake2b512', 'sha512']);
  });

  it('reports an unknown section and skips it instead of refusing the list, still requiring SHA-512', () => {
    const list = parseDigestsList(`# WHIRLPOOL HASH\n${'ab'.repeat(64)}  f\n# SHA512 HASH\n${sha512}  f\n`, 'DIGESTS');
    expect(list.unknownSections).toEqual([{ name: 'WHIRLPOOL', line: 1 }]);
    expect(list.entries.map((e) => e.algorithm)).toEqual(['sha512']);
    const only = parseDigestsList(`# WHIRLPOOL HASH\n${'ab'.repeat(64)}  f\n`, 'DIGESTS');
    expect(code(() => digestsForFile(only.entries, 'f', 'DIGESTS'))).toBe('DIGEST_MISSING');
  });

  it('still refuses lines under an unknown section that are not digest lines or name a path', () => {
    expect(code(() => parseDigests('# WHIRLPOOL HASH\nhello world\n', 'DIGESTS'))).toBe('DIGESTS_MALFORMED');
    expect(code(() => parseDigests(`# WHIRLPOOL HASH\n${'ab'.repeat(64)}  ../etc/passwd\n`, 'DIGESTS'))).toBe('DIGESTS_MALFORMED');
  });
});
