/**
 * Backup on openCryptoki (issue 11): its software token (openCryptoki 3.8) has neither
 * CKA_WRAP_WITH_TRUSTED nor CKM_AES_KEY_WRAP_PAD, so its keys are made never extractable and a backup
 * cannot be made there. The refusal is clear, comes before any share is asked for, and changes nothing.
 * Opt out only explicitly, on a machine that cannot run it: CEREMONY_SKIP_OPENCRYPTOKI=1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { opencryptokiUnavailable, startOpenCryptoki, type OpenCryptoki } from '../../helpers/opencryptoki.js';

const PIN = 'mnt4pin8';
const SO_PIN = 'oper8so!';
const skip = process.env.CEREMONY_SKIP_OPENCRYPTOKI === '1';
let ock: OpenCryptoki;
let work: string;
const env = { CEREMONY_PIN: PIN };

describe.skipIf(skip)('backup on openCryptoki (PKCS11_SW)', () => {
  beforeAll(async () => {
    const why = opencryptokiUnavailable();
    if (why) throw new Error(`${why} (set CEREMONY_SKIP_OPENCRYPTOKI=1 to skip these tests on purpose)`);
    ock = await startOpenCryptoki(3);
    ock.initToken('maint', PIN, SO_PIN);
    // The refusal comes before the quorum set is read, so an initialised root token is all it needs
    // (init itself on openCryptoki is issue 10's test: test/integration/hsm/opencryptoki.test.ts).
    ock.initToken('root', PIN, SO_PIN);
    work = join(ock.dir, 'backup');
    mkdirSync(work);
    writeFileSync(join(work, 'config.json'), JSON.stringify({
      hsm: { rootToken: 'root', signingToken: 'maint' },
      identity: { name: 'OCK Test', email: 'ock@example.org' },
      quorum: { threshold: 2, custodians: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] },
    }));
  }, 600_000);

  afterAll(() => ock?.stop());

  it('backup is refused with KEY_NOT_WRAPPABLE naming the missing mechanism, before any share is read; no file, no record', () => {
    // Absolute paths: a client that joins the daemon's namespace with nsenter starts in '/'.
    writeFileSync(join(work, 'a.share'), 'not read: the refusal comes first\n');
    const r = ock.ceremony(['backup', '--config', join(work, 'config.json'), '--out', join(work, 'keys.backup'), '--record-dir', join(work, 'records-backup'), '--allow-network', '--share', join(work, 'a.share')], { env });
    expect(r.code, r.stderr + r.stdout).toBe(1);
    expect(r.stderr).toMatch(/^error\[KEY_NOT_WRAPPABLE\]: token '(root|maint)' .*does not offer CKM_AES_KEY_WRAP_PAD/m);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(existsSync(join(work, 'keys.backup'))).toBe(false);
    expect(existsSync(join(work, 'records-backup'))).toBe(false);
  });
});
