import { describe, expect, test } from 'vitest';
import { createHash, hkdfSync } from 'node:crypto';
import { deriveQuorumPins, newQuorumSecret, newSetId, quorumCommitment, formatSetId, wipeQuorumPins, pinFormatForToken, pinStrengthBits } from '../../../ceremony/quorum/secret.js';
import { planPins } from '../../../ceremony/ceremonies/quorum-common.js';
import { isCeremonyError } from '../../../ceremony/errors.js';

describe('quorum secret and root PINs', () => {
  test('a new secret is 32 bytes and two secrets differ', () => {
    const a = newQuorumSecret();
    const b = newQuorumSecret();
    expect(a).toHaveLength(32);
    expect(a.equals(b)).toBe(false);
  });

  test('PINs are 32 printable base64url characters, inside the 4..255 PIN length of SoftHSM', () => {
    const pins = deriveQuorumPins(newQuorumSecret(), newSetId());
    for (const pin of [pins.userPin, pins.soPin]) {
      expect(Buffer.isBuffer(pin)).toBe(true);
      expect(pin).toHaveLength(32);
      expect(pin.toString('ascii')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    }
  });

  test('PINs are HKDF-SHA-256 of the secret with the documented salt and labels', () => {
    const secret = Buffer.alloc(32, 7);
    const setId = '0011223344556677';
    const salt = Buffer.concat([Buffer.from('ceremony quorum set v1\0'), Buffer.from(setId, 'hex')]);
    const expected = (info: string) => Buffer.from(hkdfSync('sha256', secret, salt, info, 24)).toString('base64url');
    const pins = deriveQuorumPins(secret, setId);
    expect(pins.userPin.toString()).toBe(expected('ceremony root-token user PIN v1'));
    expect(pins.soPin.toString()).toBe(expected('ceremony root-token SO PIN v1'));
    // the signing token's SO PIN (issue 10) has its own label
    expect(pins.signingSoPin.toString()).toBe(expected('ceremony signing-token SO PIN v1'));
  });

  test('the user and SO PINs differ, and both change with the secret and with the set', () => {
    const secret = newQuorumSecret();
    const setId = newSetId();
    const a = deriveQuorumPins(secret, setId);
    expect(a.userPin.equals(a.soPin)).toBe(false);
    const b = deriveQuorumPins(secret, newSetId());
    const c = deriveQuorumPins(newQuorumSecret(), setId);
    expect(a.userPin.equals(b.userPin) || a.userPin.equals(c.userPin)).toBe(false);
    expect(deriveQuorumPins(secret, setId).userPin.equals(a.userPin)).toBe(true);
  });

  test('wipeQuorumPins zeroes both PIN buffers', () => {
    const pins = deriveQuorumPins(newQuorumSecret(), newSetId());
    wipeQuorumPins(pins);
    expect(pins.userPin.every((b) => b === 0) && pins.soPin.every((b) => b === 0)).toBe(true);
  });

  test('the commitment is SHA-256 over the label, the set ID and the secret, and binds the set', () => {
    const secret = Buffer.alloc(32, 1);
    const setId = 'a1b2c3d4e5f60718';
    const expected = createHash('sha256').update('ceremony quorum commitment v1\0').update(Buffer.from(setId, 'hex')).update(secret).digest('hex');
    expect(quorumCommitment(setId, secret)).toBe(expected);
    expect(quorumCommitment('a1b2c3d4e5f60719', secret)).not.toBe(expected);
  });

  test('set IDs are 16 hex characters, shown in groups of four', () => {
    const id = newSetId();
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(formatSetId('0f3a9b2c77d1e4a0')).toBe('0f3a-9b2c-77d1-e4a0');
  });

  test('PINs fit the token: the longest it allows (capped at 64), in its alphabet, deterministic per format', () => {
    const softhsm = pinFormatForToken({ minPinLen: 4, maxPinLen: 255, model: 'SoftHSM v2' }, 'user')!;
    expect(softhsm).toEqual({ alphabet: 'base64url', length: 64 });
    expect(pinStrengthBits(softhsm)).toBe(384);
    const ock = pinFormatForToken({ minPinLen: 4, maxPinLen: 8, model: 'IBM SoftTok' }, 'so')!;
    expect(ock).toEqual({ alphabet: 'base64url', length: 8 });
    expect(pinStrengthBits(ock)).toBe(48);
    // SmartCard-HSM / Nitrokey HSM: the SO PIN is exactly 16 hex digits
    expect(pinFormatForToken({ minPinLen: 6, maxPinLen: 15, model: 'SmartCard-HSM' }, 'so')).toEqual({ alphabet: 'hex', length: 16 });
    expect(pinFormatForToken({ minPinLen: 10, maxPinLen: 8, model: 'x' }, 'user')).toBeUndefined();
    const secret = newQuorumSecret();
    const setId = newSetId();
    const formats = { rootUser: ock, rootSo: { alphabet: 'hex' as const, length: 16 }, signingSo: softhsm };
    const pins = deriveQuorumPins(secret, setId, formats);
    expect(pins.userPin.toString()).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(pins.soPin.toString()).toMatch(/^[0-9a-f]{16}$/);
    expect(pins.signingSoPin).toHaveLength(64);
    expect(deriveQuorumPins(secret, setId, formats).soPin.equals(pins.soPin)).toBe(true);
    // another format gives an unrelated PIN, not a prefix of the longer one
    const long = deriveQuorumPins(secret, setId, { ...formats, rootUser: softhsm });
    expect(long.userPin.subarray(0, 8).equals(pins.userPin)).toBe(false);
  });

  test('a token whose PIN limit leaves under 64 bits is refused unless explicitly accepted', () => {
    const token = (label: string, maxPinLen: number) => ({ label, minPinLen: 4, maxPinLen, model: 'm' });
    let refused: unknown;
    try {
      planPins(token('root', 8), token('signing', 255), false);
    } catch (e) {
      refused = e;
    }
    expect(isCeremonyError(refused, 'PIN_TOO_WEAK')).toBe(true);
    expect((refused as Error).message).toMatch(/48 bits.*--accept-weak-pins/);
    const plan = planPins(token('root', 8), token('signing', 255), true);
    expect(plan.weak).toBe(true);
    expect(plan.detail).toMatch(/'root' user PIN: 8 base64url characters \(48 bits\)/);
    expect(planPins(token('root', 255), token('signing', 11), false).weak).toBe(false); // 11 chars = 66 bits
  });
});
