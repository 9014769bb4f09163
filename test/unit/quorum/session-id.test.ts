import { describe, expect, test } from 'vitest';
import { confirmsQuorumSession, quorumSessionId, sessionConfirmationPrompt, sessionConfirmationText, type QuorumSessionParameters } from '../../../ceremony/quorum/session-id.js';
import { formatQuorumId } from '../../../ceremony/read-aloud.js';

const base: QuorumSessionParameters = {
  currentFingerprint: '0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567',
  validFrom: new Date('2027-01-01T00:00:00Z'),
  validUntil: new Date('2028-01-01T00:00:00Z'),
  custodians: ['alice', 'bob', 'carol'],
  threshold: 2,
};

describe('quorum session ID', () => {
  test('is stable for the same parameters and ignores fingerprint spacing and case', () => {
    const a = quorumSessionId(base);
    const b = quorumSessionId({ ...base, currentFingerprint: base.currentFingerprint.replace(/\s/g, '').toLowerCase() });
    expect(a).toEqual(b);
    expect(a.hex).toMatch(/^[0-9a-f]{64}$/);
    expect(a.display).toMatch(/^([0-9a-f]{4}-){7}[0-9a-f]{4}$/);
    expect(a.display.replace(/-/g, '')).toBe(a.hex.slice(0, 32));
    expect(a.words.split(' ')).toHaveLength(16);
  });

  test('a custodian confirming the ID is bound to every parameter: changing any one changes it', () => {
    const id = quorumSessionId(base).hex;
    const variants: QuorumSessionParameters[] = [
      { ...base, currentFingerprint: '1123456789ABCDEF0123456789ABCDEF01234567' },
      { ...base, validFrom: new Date('2027-01-02T00:00:00Z') },
      { ...base, validUntil: new Date('2029-01-01T00:00:00Z') },
      { ...base, custodians: ['alice', 'bob', 'mallory'] },
      { ...base, custodians: ['bob', 'alice', 'carol'] },
      { ...base, threshold: 1 },
    ];
    const ids = variants.map((v) => quorumSessionId(v).hex);
    expect(new Set([id, ...ids]).size).toBe(variants.length + 1);
  });

  test('refuses a fingerprint that is not 40 or 64 hex digits', () => {
    expect(() => quorumSessionId({ ...base, currentFingerprint: 'abcd' })).toThrow(RangeError);
  });
});

describe('confirming a session (one rule for the CLI prompt, the app and --session-id)', () => {
  const id = quorumSessionId(base);
  test('the first four groups confirm, as displayed or in any case, with or without dashes; a longer prefix too', () => {
    const short = sessionConfirmationText(id);
    expect(short).toMatch(/^([0-9a-f]{4}-){3}[0-9a-f]{4}$/);
    expect(short).toBe(id.display.split('-').slice(0, 4).join('-'));
    for (const answer of [short, short.toUpperCase(), short.replace(/-/g, ''), ` ${short.replace(/-/g, ' ')} `, id.display, id.hex]) {
      expect(confirmsQuorumSession(answer, id.hex), answer).toBe(true);
    }
    expect(sessionConfirmationPrompt(id)).toContain(short);
  });

  test('"yes", three groups, a wrong digit or another session\'s ID do not confirm', () => {
    const short = sessionConfirmationText(id);
    const wrong = short.slice(0, -1) + (short.endsWith('0') ? '1' : '0');
    const other = sessionConfirmationText(quorumSessionId({ ...base, threshold: 3 }));
    for (const answer of ['yes', 'YES', '', short.split('-').slice(0, 3).join('-'), wrong, other, `${id.hex}00`]) {
      expect(confirmsQuorumSession(answer, id.hex), answer).toBe(false);
    }
  });

  test('set and session IDs are printed one way: lower-case groups of four joined by dashes', () => {
    expect(formatQuorumId('0998 34ED 03BA ED1F')).toBe('0998-34ed-03ba-ed1f');
    expect(formatQuorumId(id.hex)).toBe(id.display);
  });
});
