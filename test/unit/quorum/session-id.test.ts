import { describe, expect, test } from 'vitest';
import { quorumSessionId, type QuorumSessionParameters } from '../../../ceremony/quorum/session-id.js';

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
