/**
 * One custodian's share and its envelope (DESIGN §4): a versioned text a person can copy by hand.
 *
 *   -----BEGIN QUORUM SHARE-----
 *   Version: 1
 *   Set: 0f3a-9b2c-77d1-e4a0
 *   Custodian: bob
 *   Share: 2 of 5
 *   Threshold: 3
 *   Commitment: 1a2b 3c4d ... (32 bytes, hex in groups of 4, two lines)
 *   Data: a1b2 c3d4 ...       (33 bytes: the 32 share bytes and Shamir's x coordinate, three lines)
 *   Checksum: 9f3e-21ab
 *   -----END QUORUM SHARE-----
 *
 * or the same share as PGP words (formatShareWords), for people who copy by hand.
 *
 * The checksum is the first 4 bytes of SHA-256("ceremony quorum share checksum v1\0" ‖ the canonical binary
 * form of every other field, custodian name included). Any mistyped character, swapped characters or
 * swapped lines change it except with probability 2^-32, so a typo is caught and the share is named. It is
 * not a defence against a forger (who can recompute it): the set's commitment is (session.ts).
 */
import { createHash } from 'node:crypto';
import { CeremonyError } from '../errors.js';
import { constantTimeEqual } from '../crypto.js';
import { SECRET_LENGTH, SET_ID_LENGTH, formatSetId } from './secret.js';
import { bytesToWords, wordsToBytes } from './word-encoding.js';

export const SHARE_FORMAT_VERSION = 1;
/** Share bytes: the secret's length plus Shamir's x coordinate (shamir-secret-sharing puts it last). */
export const SHARE_DATA_LENGTH = SECRET_LENGTH + 1;
export const MAX_CUSTODIANS = 255;
/** Custodian names become file names (`shares/<name>.share`): letters, digits, `.`, `_`, `-`; no leading dot. */
export const CUSTODIAN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The largest envelope we read (a words envelope is about 1 KiB), and its most lines. */
export const MAX_SHARE_TEXT_BYTES = 8 * 1024;
export const MAX_SHARE_LINES = 64;

/** DESIGN §5: `shares/<custodian>.share`, or `.share.asc` when encrypted to the custodian's key. */
export function shareFileName(custodian: string, encrypted: boolean): string {
  if (!CUSTODIAN_NAME.test(custodian)) throw new RangeError('not a valid custodian name');
  return `${custodian}.share${encrypted ? '.asc' : ''}`;
}

export interface Share {
  version: 1;
  /** 16 lower-case hex characters; names one split. */
  setId: string;
  /** 1..total; the custodian's position in the set. */
  index: number;
  threshold: number;
  total: number;
  custodian: string;
  /** The set's commitment, 64 lower-case hex characters (public). */
  commitment: string;
  /** SHARE_DATA_LENGTH secret bytes. Wipe when done. */
  data: Buffer;
}

const BEGIN = '-----BEGIN QUORUM SHARE-----';
const END = '-----END QUORUM SHARE-----';
const BEGIN_WORDS = '-----BEGIN QUORUM SHARE WORDS-----';
const END_WORDS = '-----END QUORUM SHARE WORDS-----';
const CHECKSUM_LABEL = Buffer.from('ceremony quorum share checksum v1\0', 'ascii');
const CHECKSUM_LENGTH = 4;
const COMMITMENT_LENGTH = 32;
/** version, set ID, index, k, n, data, commitment: the part of a share that words carry. */
const BODY_LENGTH = 1 + SET_ID_LENGTH + 3 + SHARE_DATA_LENGTH + COMMITMENT_LENGTH;

function body(s: Share): Buffer {
  return Buffer.concat([
    Buffer.from([s.version]),
    Buffer.from(s.setId, 'hex'),
    Buffer.from([s.index, s.threshold, s.total]),
    s.data,
    Buffer.from(s.commitment, 'hex'),
  ]);
}

export function shareChecksum(s: Share): Buffer {
  const b = body(s);
  try {
    const name = Buffer.from(s.custodian, 'utf8');
    return createHash('sha256')
      .update(CHECKSUM_LABEL)
      .update(b)
      .update(Buffer.from([name.length]))
      .update(name)
      .digest()
      .subarray(0, CHECKSUM_LENGTH);
  } finally {
    b.fill(0);
  }
}

function hexGroups(hex: string, perLine: number, indent: string): string {
  const groups = hex.match(/.{1,4}/g)!;
  const lines: string[] = [];
  for (let i = 0; i < groups.length; i += perLine) lines.push(groups.slice(i, i + perLine).join(' '));
  return lines.join('\n' + indent);
}

/** The text envelope of a share. The returned string holds share bytes: write it, then drop it. */
export function formatShare(s: Share): string {
  const cs = shareChecksum(s).toString('hex');
  return [
    BEGIN,
    `Version: ${s.version}`,
    `Set: ${formatSetId(s.setId)}`,
    `Custodian: ${s.custodian}`,
    `Share: ${s.index} of ${s.total}`,
    `Threshold: ${s.threshold}`,
    `Commitment: ${hexGroups(s.commitment, 8, '            ')}`,
    `Data: ${hexGroups(s.data.toString('hex'), 8, '      ')}`,
    `Checksum: ${cs.slice(0, 4)}-${cs.slice(4)}`,
    END,
    '',
  ].join('\n');
}

/** The same share as PGP words, eight to a numbered line, for copying by hand. */
export function formatShareWords(s: Share): string {
  const b = Buffer.concat([body(s), shareChecksum(s)]);
  const words = bytesToWords(b);
  b.fill(0);
  const lines: string[] = [];
  for (let i = 0; i < words.length; i += 8) {
    lines.push(`${String(i / 8 + 1).padStart(2, ' ')}: ${words.slice(i, i + 8).join(' ')}`);
  }
  return [BEGIN_WORDS, `Custodian: ${s.custodian}`, ...lines, END_WORDS, ''].join('\n');
}

/**
 * Parse a share envelope (text or words) from untrusted input. Structure problems are SHARE_MALFORMED
 * (exit 2); a typo inside a well-formed envelope (checksum, a non-hex character, a misspelt or misplaced word)
 * is SHARE_INVALID (exit 1) naming the custodian. `source` (a file name, "share 3") names the input in errors.
 * Tolerant of surrounding blank lines, CRLF, indentation, case of field names, hex and words.
 */
export function parseShare(input: string | Uint8Array, source: string): Share {
  const malformed = (why: string) => new CeremonyError('SHARE_MALFORMED', `${source} is not a readable quorum share: ${why}`, { details: { source } });
  if (typeof input !== 'string') {
    if (input.length > MAX_SHARE_TEXT_BYTES) throw malformed(`it is larger than ${MAX_SHARE_TEXT_BYTES} bytes`);
    input = Buffer.from(input).toString('utf8');
  }
  if (input.length > MAX_SHARE_TEXT_BYTES) throw malformed(`it is larger than ${MAX_SHARE_TEXT_BYTES} bytes`);
  const lines = input.replace(/^\uFEFF/, '').split(/\r?\n/).map((l) => l.replace(/\s+$/, ''));
  while (lines.length && lines[0] === '') lines.shift();
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  if (lines.length > MAX_SHARE_LINES) throw malformed(`it has more than ${MAX_SHARE_LINES} lines`);
  const first = lines[0]?.trim();
  const last = lines[lines.length - 1]?.trim();
  if (first === BEGIN && last === END && lines.length > 2) return parseTextBodyLocating(lines, source, malformed);
  if (first === BEGIN_WORDS && last === END_WORDS && lines.length > 2) return parseWordsBody(lines.slice(1, -1), source, malformed);
  if (first?.startsWith('-----BEGIN PGP MESSAGE-----')) throw malformed('it is OpenPGP-encrypted; decrypt it first');
  throw malformed(`it does not start with ${BEGIN} (or ${BEGIN_WORDS}) and end with the matching END line`);
}

type Malformed = (why: string) => CeremonyError;

const TEXT_FIELDS = ['version', 'set', 'custodian', 'share', 'threshold', 'commitment', 'data', 'checksum'] as const;
type TextField = (typeof TEXT_FIELDS)[number];

function collectFields(lines: string[], allowed: readonly string[], malformed: Malformed, continuation: readonly string[]): Map<string, string> {
  const fields = new Map<string, string>();
  let lastField: string | undefined;
  for (const line of lines) {
    if (line.trim() === '') continue;
    if (/^\s/.test(line)) {
      if (!lastField || !continuation.includes(lastField)) throw malformed('a line starts with spaces where a field was expected');
      fields.set(lastField, `${fields.get(lastField)} ${line.trim()}`);
      continue;
    }
    const m = /^([A-Za-z]+):(.*)$/.exec(line);
    if (!m) throw malformed('a line is not of the form "Field: value"');
    const name = m[1]!.toLowerCase();
    if (!allowed.includes(name)) throw malformed(`it has an unknown field "${m[1]!.slice(0, 20)}"`);
    if (fields.has(name)) throw malformed(`the field "${m[1]}" appears twice`);
    fields.set(name, m[2]!.trim());
    lastField = name;
  }
  return fields;
}

function parseCommon(
  version: string | undefined,
  custodian: string | undefined,
  source: string,
  malformed: Malformed,
): { custodian: string; invalid: (why: string) => CeremonyError } {
  if (version !== undefined && version !== String(SHARE_FORMAT_VERSION)) {
    throw malformed(`it is in share format version "${version.slice(0, 10)}", and this application reads version ${SHARE_FORMAT_VERSION}`);
  }
  if (custodian === undefined) throw malformed('the Custodian field is missing');
  if (!CUSTODIAN_NAME.test(custodian)) throw malformed('the Custodian field is not a valid custodian name');
  const invalid = (why: string) =>
    new CeremonyError('SHARE_INVALID', `the share of ${custodian} (${source}) ${why}`, { details: { source, custodian } });
  return { custodian, invalid };
}

/**
 * Parse a text envelope; when its checksum fails, say where the typo is (issue 13): a mistyped share
 * is named by its line and group, not only "a character was mistyped". The checksum is over the whole
 * share, so the place is found by trying every single-digit change and every swap of neighbouring digits
 * in each hex group, keeping a place only if exactly one group has a change that makes the checksum
 * match (a false match needs a 2^-32 chance per candidate, about 3000 of them). Only the place is
 * reported, never a digit: the message must not carry any part of the share.
 */
function parseTextBodyLocating(all: string[], source: string, malformed: Malformed): Share {
  try {
    return parseTextBody(all.slice(1, -1), source, malformed);
  } catch (e) {
    if (!(e instanceof CeremonyError) || e.code !== 'SHARE_INVALID' || !/checksum/.test(e.message)) throw e;
    const place = locateTypo(all, source, malformed);
    if (!place) throw e;
    throw new CeremonyError('SHARE_INVALID', e.message.replace(/: a character was mistyped or changed;.*$/, `: line ${place.line} of the share (counting its BEGIN line as 1), group ${place.group}${place.field ? ` of the ${place.field} field` : ''}, looks mistyped; compare it with the original`), { details: e.details });
  }
}

const HEX_DIGITS = '0123456789abcdef';

function locateTypo(all: string[], source: string, malformed: Malformed): { line: number; group: number; field?: string } | undefined {
  const places = new Map<string, { line: number; group: number; field?: string }>();
  let field: string | undefined;
  for (let li = 1; li < all.length - 1; li++) {
    const line = all[li]!;
    const head = /^([A-Za-z]+):/.exec(line);
    if (head) field = head[1];
    // The hex groups of this line, with where each starts (after "Field:" on a field's first line).
    const start = head ? head[0].length : 0;
    const groups = [...line.slice(start).matchAll(/[0-9A-Fa-f]+/g)].map((m) => ({ at: start + m.index, text: m[0] }));
    if (!['Set', 'Commitment', 'Data', 'Checksum'].some((f) => f.toLowerCase() === field?.toLowerCase())) continue;
    groups.forEach((g, gi) => {
      const candidates: string[] = [];
      for (let i = 0; i < g.text.length; i++) {
        for (const d of HEX_DIGITS) if (d !== g.text[i]!.toLowerCase()) candidates.push(g.text.slice(0, i) + d + g.text.slice(i + 1));
        if (i + 1 < g.text.length && g.text[i] !== g.text[i + 1]) candidates.push(g.text.slice(0, i) + g.text[i + 1] + g.text[i] + g.text.slice(i + 2));
      }
      for (const c of candidates) {
        const edited = [...all];
        edited[li] = line.slice(0, g.at) + c + line.slice(g.at + g.text.length);
        try {
          const share = parseTextBody(edited.slice(1, -1), source, malformed);
          share.data.fill(0);
          places.set(`${li}/${gi}`, { line: li + 1, group: gi + 1, ...(field ? { field } : {}) });
          break;
        } catch {
          // not this change
        }
      }
    });
  }
  return places.size === 1 ? [...places.values()][0] : undefined;
}

function parseTextBody(lines: string[], source: string, malformed: Malformed): Share {
  const f = collectFields(lines, TEXT_FIELDS, malformed, ['commitment', 'data']);
  const get = (name: TextField) => {
    const v = f.get(name);
    if (v === undefined || v === '') throw malformed(`the ${name[0]!.toUpperCase()}${name.slice(1)} field is missing`);
    return v;
  };
  const { custodian, invalid } = parseCommon(get('version'), f.get('custodian'), source, malformed);
  const shareField = /^(\d{1,3})\s+of\s+(\d{1,3})$/i.exec(get('share'));
  if (!shareField) throw malformed('the Share field is not of the form "2 of 5"');
  const thresholdField = /^\d{1,3}$/.exec(get('threshold'));
  if (!thresholdField) throw malformed('the Threshold field is not a number');
  const hexField = (name: TextField, bytes: number): Buffer => {
    const compact = get(name).replace(/[\s-]/g, '').toLowerCase();
    if (!/^[0-9a-f]*$/.test(compact)) throw invalid(`has a character in its ${name} field that is not a hex digit: it was mistyped`);
    if (compact.length !== bytes * 2) throw invalid(`has ${compact.length} hex digits in its ${name} field instead of ${bytes * 2}: a digit was dropped or added`);
    return Buffer.from(compact, 'hex');
  };
  const setId = hexField('set', SET_ID_LENGTH).toString('hex');
  const commitment = hexField('commitment', COMMITMENT_LENGTH).toString('hex');
  const checksum = hexField('checksum', CHECKSUM_LENGTH);
  const data = hexField('data', SHARE_DATA_LENGTH);
  const share: Share = {
    version: 1,
    setId,
    index: Number(shareField[1]),
    total: Number(shareField[2]),
    threshold: Number(thresholdField[0]),
    custodian,
    commitment,
    data,
  };
  return finish(share, checksum, invalid, malformed);
}

function parseWordsBody(lines: string[], source: string, malformed: Malformed): Share {
  const header = lines[0] ?? '';
  const m = /^custodian:(.*)$/i.exec(header.trim());
  if (!m) throw malformed('the words envelope does not start with a Custodian line');
  const { custodian, invalid } = parseCommon(undefined, m[1]!.trim(), source, malformed);
  const words: string[] = [];
  // Where each word is (line of the share counting its BEGIN line as 1, and position on that line), to
  // name the place of a typo as the custodian sees it on paper.
  const at: string[] = [];
  for (const [li, line] of lines.slice(1).entries()) {
    // Line numbers ("3:") are optional; words are letters only.
    const rest = line.trim().replace(/^\d{1,3}\s*[:.)]\s*/, '');
    let onLine = 0;
    for (const w of rest.split(/[\s,]+/)) {
      if (w === '') continue;
      onLine++;
      if (!/^[A-Za-z]{1,20}$/.test(w)) throw invalid(`has something that is not a word near word ${words.length + 1} (line ${li + 3}, word ${onLine}): it was mistyped`);
      words.push(w);
      at.push(`line ${li + 3}, word ${onLine}`);
    }
  }
  const expected = BODY_LENGTH + CHECKSUM_LENGTH;
  // Check each word before the count: a misspelt or swapped word is named by its position even if one is missing.
  const decoded = wordsToBytes(words);
  if (!decoded.ok) {
    throw invalid(
      decoded.problem === 'wrong-list'
        ? `has a word from the wrong list at word ${decoded.position} (${at[decoded.position - 1] ?? 'end'}): words were swapped, dropped or repeated there`
        : `has a word that is not in the word list at word ${decoded.position} (${at[decoded.position - 1] ?? 'end'}): it was misspelt`,
    );
  }
  const b = decoded.bytes;
  if (words.length !== expected) {
    b.fill(0);
    throw invalid(`has ${words.length} words instead of ${expected}: words were dropped or added`);
  }
  // The version byte is checked after the checksum (in finish): a misread first word is a typo, not a new format.
  const version = b[0] as 1;
  let o = 1;
  const setId = b.subarray(o, (o += SET_ID_LENGTH)).toString('hex');
  const [index, threshold, total] = [b[o++]!, b[o++]!, b[o++]!];
  const data = Buffer.from(b.subarray(o, (o += SHARE_DATA_LENGTH)));
  const commitment = b.subarray(o, (o += COMMITMENT_LENGTH)).toString('hex');
  const checksum = Buffer.from(b.subarray(o, o + CHECKSUM_LENGTH));
  b.fill(0);
  return finish({ version, setId, index, threshold, total, custodian, commitment, data }, checksum, invalid, malformed);
}

function finish(share: Share, checksum: Buffer, invalid: (why: string) => CeremonyError, malformed: Malformed): Share {
  // The checksum first: a typo in a number field should be reported as a typo, not as a strange set.
  if (!constantTimeEqual(shareChecksum(share), checksum)) {
    share.data.fill(0);
    throw invalid('does not match its checksum: a character was mistyped or changed; compare it with the original');
  }
  if (share.version !== SHARE_FORMAT_VERSION) {
    share.data.fill(0);
    throw malformed(`it is in share format version ${share.version}, and this application reads version ${SHARE_FORMAT_VERSION}`);
  }
  const { index, threshold, total } = share;
  if (total < 1 || total > MAX_CUSTODIANS || threshold < 1 || threshold > total || index < 1 || index > total) {
    share.data.fill(0);
    throw malformed(`its numbers do not fit together (share ${index} of ${total}, threshold ${threshold})`);
  }
  return share;
}
