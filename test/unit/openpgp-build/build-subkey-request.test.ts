/**
 * The build server's subkey request at the edge (issue 15): malformed shapes, and the time window, each
 * with its code. Keys are throwaway openpgp.js keys; the renewal itself is tested on SoftHSM in
 * test/integration/ceremonies/renew-build-subkey.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { armor, enums, generateKey, PacketList, type AnyPacket, type PrivateKey } from 'openpgp';
import { makeBuildSubkeyRequest, readBuildSubkeyRequest } from '../../../ceremony/openpgp/build/build-subkey-request.js';
import { checkBuildSubkeyRequest } from '../../../ceremony/ceremonies/renew-build-subkey.js';
import type { CeremonyConfig } from '../../../ceremony/config.js';
import { isCeremonyError, type ErrorCode } from '../../../ceremony/errors.js';

const DAY = 86_400_000;
const NOW = new Date('2027-03-01T12:00:00Z');
const config = { keys: { subkeyValidityDays: 365, overlapDays: 30, renewWindowDays: 60 }, trustedBuildKeys: [] } as unknown as CeremonyConfig;
let rootArmored: string;
let rootBinary: Uint8Array;

async function buildKey(created: Date): Promise<PrivateKey> {
  return (await generateKey({ type: 'rsa', rsaBits: 3072, userIDs: [{ name: 'build' }], date: created, format: 'object' })).privateKey;
}

async function codeOf(p: Promise<unknown>): Promise<ErrorCode | unknown> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  return isCeremonyError(e) ? e.code : e;
}

beforeAll(async () => {
  const root = await generateKey({ type: 'rsa', rsaBits: 3072, userIDs: [{ name: 'root' }], date: new Date(NOW.getTime() - 400 * DAY), format: 'object' });
  rootArmored = root.publicKey.armor();
  rootBinary = root.publicKey.write();
}, 60_000);

describe('build-server subkey request', () => {
  it('a request that is not root key, subkey, back-signature in that order is malformed (exit 2)', async () => {
    const key = await buildKey(new Date(NOW.getTime() - DAY));
    const { armored } = await makeBuildSubkeyRequest({ rootCertificate: rootArmored, secretKey: key.armor(), now: NOW });
    const r = await readBuildSubkeyRequest(armored);
    const shuffled = new PacketList<AnyPacket>();
    shuffled.push(r.subkey, r.root, r.backSignature);
    expect(await codeOf(readBuildSubkeyRequest(armor(enums.armor.publicKey, shuffled.write())))).toBe('BUILD_SUBKEY_REQUEST_MALFORMED');
    const short = new PacketList<AnyPacket>();
    short.push(r.root, r.subkey);
    expect(await codeOf(readBuildSubkeyRequest(short.write()))).toBe('BUILD_SUBKEY_REQUEST_MALFORMED');
    expect(await codeOf(readBuildSubkeyRequest('not a request'))).toBe('BUILD_SUBKEY_REQUEST_MALFORMED');
  }, 60_000);

  it('a key dated after the ceremony clock is refused (BUILD_SUBKEY_OUT_OF_WINDOW)', async () => {
    const future = new Date(NOW.getTime() + DAY);
    const { armored } = await makeBuildSubkeyRequest({ rootCertificate: rootArmored, secretKey: (await buildKey(future)).armor(), now: future });
    expect(await codeOf(checkBuildSubkeyRequest({ source: 'r', bytes: Buffer.from(armored) }, { certificate: rootBinary, config, now: NOW }))).toBe('BUILD_SUBKEY_OUT_OF_WINDOW');
  }, 60_000);

  it('a key made long before the renewal (an old key, possibly long exposed) is refused (BUILD_SUBKEY_OUT_OF_WINDOW)', async () => {
    const old = new Date(NOW.getTime() - 61 * DAY);
    const { armored } = await makeBuildSubkeyRequest({ rootCertificate: rootArmored, secretKey: (await buildKey(old)).armor(), now: NOW });
    expect(await codeOf(checkBuildSubkeyRequest({ source: 'r', bytes: Buffer.from(armored) }, { certificate: rootBinary, config, now: NOW }))).toBe('BUILD_SUBKEY_OUT_OF_WINDOW');
  }, 60_000);

  it('a fresh RSA-3072 key with a valid back-signature passes every check', async () => {
    const key = await buildKey(new Date(NOW.getTime() - DAY));
    const { armored } = await makeBuildSubkeyRequest({ rootCertificate: rootArmored, secretKey: key.armor(), now: NOW });
    const r = await checkBuildSubkeyRequest({ source: 'r', bytes: Buffer.from(armored) }, { certificate: rootBinary, config, now: NOW });
    expect(r.fingerprint).toBe(key.getFingerprint().toUpperCase());
    expect(r.algorithm).toBe('RSA-3072');
  }, 60_000);
});
