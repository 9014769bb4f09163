/** The backup file's edge (issue 11): strict parsing with limits, and a MAC that any change breaks. */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { authenticateBackup, parseBackup, sealBackup, type BackupBody } from '../../../ceremony/ceremonies/backup-file.js';
import { isCeremonyError } from '../../../ceremony/errors.js';

const body: BackupBody = {
  created: '2026-12-02T13:00:00.000Z',
  setId: '0123456789abcdef',
  quorumSet: '{"format":"ceremony-quorum-set/signed-1"}',
  tokens: [
    { token: 'root', label: 'root', keys: [{ label: 'root-key', id: '0a0b', role: 'root', bits: 4096, startDate: null, endDate: null, publicKey: 'AAAA', keyState: '{}', certificate: null, wrapped: 'BBBB' }] },
    { token: 'signing', label: 'signing', keys: [] },
  ],
  notBackedUp: [],
};

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isCeremonyError(e) ? e.code : 'not a CeremonyError';
  }
  return undefined;
}

describe('backup file', () => {
  const key = randomBytes(32);
  const text = sealBackup(body, key);

  it('round-trips under the key it was made with', () => {
    expect(authenticateBackup(parseBackup(Buffer.from(text), 'b'), key, 'b')).toEqual(body);
  });

  it('an altered body is refused (BACKUP_INVALID)', () => {
    const env = JSON.parse(text) as { body: string };
    const altered = JSON.stringify({ ...env, body: env.body.replace('"bits":4096', '"bits":2048') });
    expect(altered).not.toBe(JSON.stringify(env));
    expect(code(() => authenticateBackup(parseBackup(Buffer.from(altered), 'b'), key, 'b'))).toBe('BACKUP_INVALID');
  });

  it('the key of another set does not open it (BACKUP_INVALID)', () => {
    expect(code(() => authenticateBackup(parseBackup(Buffer.from(text), 'b'), randomBytes(32), 'b'))).toBe('BACKUP_INVALID');
  });

  it('anything that is not a backup file is INPUT_MALFORMED: not JSON, unknown fields, a short MAC, a bad role', () => {
    const env = JSON.parse(text) as { body: string; mac: string };
    expect(code(() => parseBackup(Buffer.from('not json'), 'b'))).toBe('INPUT_MALFORMED');
    expect(code(() => parseBackup(Buffer.from(JSON.stringify({ ...env, extra: 1 })), 'b'))).toBe('INPUT_MALFORMED');
    expect(code(() => parseBackup(Buffer.from(JSON.stringify({ ...env, mac: env.mac.slice(2) })), 'b'))).toBe('INPUT_MALFORMED');
    expect(code(() => parseBackup(Buffer.from(JSON.stringify({ ...env, body: env.body.replace('"role":"root"', '"role":"openpgp-key"') })), 'b'))).toBe('INPUT_MALFORMED');
  });
});
