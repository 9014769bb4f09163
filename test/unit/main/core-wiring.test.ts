/**
 * The desk's seams bound to the real core: an OpenPGP-encrypted share opened with the custodian's key
 * file and passphrase (ceremony/quorum decryptShare), refused with a wrong passphrase; the config loaded by
 * ceremony/config with the signing token as the key URI.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptShareForCustodian, formatShare, newQuorumSecret, parseShare, splitQuorumSecret } from '../../../ceremony/quorum/index.js';
import { createDeskCore } from '../../../main/core-wiring.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'core-wiring-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const noWorker = { run: () => ({ id: 'job-1', result: Promise.reject(new Error('no worker here')) }) } as never;
const core = createDeskCore(noWorker, async () => new Uint8Array());

describe('desk core wiring', () => {
  it("opens a custodian's encrypted share with their key file and passphrase, and refuses a wrong passphrase", async () => {
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'alice' }], passphrase: 'correct horse' });
    const split = await splitQuorumSecret(newQuorumSecret(), { threshold: 2, custodians: ['alice', 'bob'] });
    const text = formatShare(split.shares[0]!);
    const encrypted = await encryptShareForCustodian(text, publicKey, 'alice');
    const keyFile = join(dir, 'alice.key.asc');
    writeFileSync(keyFile, privateKey);
    const opened = await core.decryptShare(Buffer.from(encrypted), keyFile, Buffer.from('correct horse'));
    expect(parseShare(opened, 'test')).toMatchObject({ custodian: 'alice', index: 1 });
    await expect(core.decryptShare(Buffer.from(encrypted), keyFile, Buffer.from('wrong horse'))).rejects.toMatchObject({ code: 'REJECTED' });
  });

  it('loads the config through the core parser and signs with the signing token', async () => {
    const file = join(dir, 'ceremony.json');
    writeFileSync(
      file,
      JSON.stringify({
        hsm: { module: '/usr/lib/softhsm/libsofthsm2.so', rootToken: 'root', signingToken: 'signing' },
        identity: { name: 'Example', email: 'security@example.org' },
        quorum: { threshold: 2, custodians: [{ name: 'alice' }, { name: 'bob' }] },
        trustedBuildKeys: ['keys/build.asc'],
      }),
    );
    await expect(core.loadConfig(file)).resolves.toMatchObject({
      signingKeyUri: 'pkcs11:token=signing',
      threshold: 2,
      custodians: ['alice', 'bob'],
      trustedKeys: [join(dir, 'keys/build.asc')],
    });
    writeFileSync(file, '{"hsm": {}}');
    await expect(core.loadConfig(file)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
