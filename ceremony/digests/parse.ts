/**
 * Flatcar's DIGESTS layout (DESIGN §4; `flatcar/scripts` build_library/release_util.sh `create_digests`):
 *
 *   # MD5 HASH
 *   <hex>  <basename>
 *   # SHA1 HASH
 *   <hex>  <basename>
 *   # SHA512 HASH
 *   <hex>  <basename>
 *
 * Several files may be listed under each header. Flatcar's SDK (Gentoo catalyst) also writes a `# BLAKE2B HASH`
 * section (b2sum's BLAKE2b-512); it is checked like the others. Headers are read in any letter case. A section
 * for an algorithm this parser does not know is reported (its lines must still look like digest lines) and
 * skipped: SHA-512 is required for every file anyway, so an extra section can only add checks we cannot do, never
 * replace one. This parser sees only the signed text (the caller strips the clearsign framing) and is otherwise
 * strict: any line it does not understand makes the whole list malformed, because a list we half-understand is a
 * list we cannot vouch for.
 */
import { CeremonyError } from '../errors.js';

/** Node (OpenSSL) hash names, so the one read pass can compute each listed algorithm directly. */
export type DigestAlgorithm = 'md5' | 'sha1' | 'sha256' | 'sha512' | 'blake2b512';

/** Hex length of each algorithm's digest. */
export const DIGEST_HEX_LENGTH: Record<DigestAlgorithm, number> = { md5: 32, sha1: 40, sha256: 64, sha512: 128, blake2b512: 128 };

/** Header word (upper case) → algorithm. BLAKE2B is b2sum's default, BLAKE2b-512 (RFC 7693). */
const HEADERS: Record<string, DigestAlgorithm> = { MD5: 'md5', SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512', BLAKE2B: 'blake2b512' };

export const MAX_DIGESTS_BYTES = 1024 * 1024;
const MAX_LINES = 100_000;

export interface DigestEntry {
  algorithm: DigestAlgorithm;
  /** Lowercase hex. */
  hex: string;
  /** The file's basename as listed. */
  name: string;
  /** 1-based line number in the signed text. */
  line: number;
}

export interface UnknownSection {
  /** The header's algorithm word as written. */
  name: string;
  line: number;
}

export interface DigestsList {
  entries: DigestEntry[];
  /** Sections for algorithms not known here: reported, their lines not checked. */
  unknownSections: UnknownSection[];
}

const HEADER_RE = /^# ([A-Za-z0-9]+) HASH$/i;
// coreutils format: two spaces (text mode, what create_digests writes) or " *" (binary mode).
const ENTRY_RE = /^([0-9a-fA-F]+) [ *](.+)$/;

function malformed(source: string, line: number, why: string): CeremonyError {
  return new CeremonyError('DIGESTS_MALFORMED', `${source} line ${line}: ${why}`);
}

/** A listed name must be a plain basename: no directories, no control characters. */
function validName(name: string): boolean {
  if (name === '.' || name === '..' || /[/\\]/.test(name)) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}

/** The typed entries of a DIGESTS text. */
export function parseDigests(text: string, source: string): DigestEntry[] {
  return parseDigestsList(text, source).entries;
}

/** The typed entries of a DIGESTS text and the sections it skipped. */
export function parseDigestsList(text: string, source: string): DigestsList {
  if (text.length > MAX_DIGESTS_BYTES) throw new CeremonyError('DIGESTS_MALFORMED', `${source} is larger than ${MAX_DIGESTS_BYTES} bytes`);
  const lines = text.split(/\r?\n/);
  if (lines.length > MAX_LINES) throw new CeremonyError('DIGESTS_MALFORMED', `${source} has more than ${MAX_LINES} lines`);
  const entries: DigestEntry[] = [];
  const seen = new Map<string, string>();
  const unknownSections: UnknownSection[] = [];
  // 'unknown': inside a section for an algorithm this parser does not know.
  let current: DigestAlgorithm | 'unknown' | null = null;
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.replace(/[ \t]+$/, '');
    if (line === '') return;
    const header = HEADER_RE.exec(line);
    if (header) {
      const alg = HEADERS[header[1]!.toUpperCase()];
      if (!alg) unknownSections.push({ name: header[1]!, line: n });
      current = alg ?? 'unknown';
      return;
    }
    const entry = ENTRY_RE.exec(line);
    if (!entry) throw malformed(source, n, 'neither a "# <ALG> HASH" header nor a "<hex>  <file>" line');
    if (!current) throw malformed(source, n, 'a digest before any "# <ALG> HASH" header');
    const hex = entry[1]!.toLowerCase();
    const name = entry[2]!;
    if (!validName(name)) throw malformed(source, n, 'the file name is not a plain basename');
    if (current === 'unknown') return;
    if (hex.length !== DIGEST_HEX_LENGTH[current]) {
      throw malformed(source, n, `a ${current.toUpperCase()} digest has ${DIGEST_HEX_LENGTH[current]} hex digits, this one ${hex.length}`);
    }
    const key = `${current}\u0000${name}`;
    const before = seen.get(key);
    if (before !== undefined) {
      if (before !== hex) throw malformed(source, n, `two different ${current.toUpperCase()} digests for ${name}`);
      return;
    }
    seen.set(key, hex);
    entries.push({ algorithm: current, hex, name, line: n });
  });
  return { entries, unknownSections };
}

/**
 * The digests listed for one file. A file the list does not mention, or mentions without SHA-512, is refused:
 * MD5 and SHA-1 alone do not stop a forger (DIGEST_MISSING).
 */
export function digestsForFile(entries: readonly DigestEntry[], name: string, source: string): DigestEntry[] {
  const mine = entries.filter((e) => e.name === name);
  if (mine.length === 0) throw new CeremonyError('DIGEST_MISSING', `${source} does not list ${name}`);
  if (!mine.some((e) => e.algorithm === 'sha512')) {
    throw new CeremonyError('DIGEST_MISSING', `${source} lists no SHA-512 digest for ${name} (MD5 and SHA-1 alone are not accepted)`);
  }
  return mine;
}
