/**
 * A sign ceremony leaves no token logged in, however it ends. PKCS#11 login state is per token and per
 * process (PKCS#11 v2.40 §5.6): one session left open keeps the token logged in, so anything else the
 * process runs later (the app's worker serves many jobs) could use its keys without a PIN. The fault
 * this stops: a payload key on a second token whose selection fails after its login, with the session
 * of that login never handed to the cleanup.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SOFTHSM_MODULE } from '../../helpers/softhsm.js';
import { openModule } from '../../../ceremony/hsm/module.js';
import { TokenSession } from '../../../ceremony/hsm/token.js';
import { parsePkcs11Uri } from '../../../ceremony/hsm/uri.js';
import { runSignUpdate } from '../../../ceremony/ceremonies/sign-update.js';
import { reviewRecord } from '../../../ceremony/audit/review.js';
import { makePayloadFixture, RELEASE_AND_PAYLOAD_KEYS, type PayloadFixture } from './fixture.js';

const PIN = 'payload-sessions-1';
const CKS_RO_PUBLIC_SESSION = 0;
let f: PayloadFixture;

beforeAll(async () => {
  const [release, payload] = RELEASE_AND_PAYLOAD_KEYS;
  f = await makePayloadFixture({ prefix: 'payload-sessions-', pin: PIN, keys: { signing: [release!], payloads: [payload!] }, payloadBytes: 64 * 1024 });
}, 180_000);

afterAll(() => f?.cleanup());

/** The token's login state as a fresh session of this process sees it (shared by all its sessions). */
function loginState(token: string): number {
  const t = TokenSession.open(openModule(SOFTHSM_MODULE), parsePkcs11Uri(`pkcs11:token=${token}`), false);
  try {
    return t.lib.C_GetSessionInfo(t.handle).state;
  } finally {
    t.session.close();
  }
}

it('a payload key on a second token that is not found after its login: KEY_NOT_FOUND, refusal sealed, neither token left logged in', async () => {
  const work = join(f.hsm.dir, 'missing-payload-key');
  const outDir = join(work, 'signed');
  await expect(
    runSignUpdate({
      ...f.context(join(work, 'records')),
      files: f.bs.files.filter((file) => file !== f.payload),
      trustedKeys: [f.bs.certificate],
      key: parsePkcs11Uri('pkcs11:token=signing;object=release'),
      outDir,
      armor: false,
      payloads: [f.payload],
      payloadKeys: [parsePkcs11Uri('pkcs11:token=payloads;object=payload'), parsePkcs11Uri('pkcs11:token=payloads;object=no-such-key')],
    }),
  ).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
  expect(existsSync(outDir) ? readdirSync(outDir) : []).toEqual([]);
  const [record] = readdirSync(join(work, 'records'));
  expect((await reviewRecord(join(work, 'records', record!))).verdict).toBe('refused');
  expect(loginState('payloads')).toBe(CKS_RO_PUBLIC_SESSION);
  expect(loginState('signing')).toBe(CKS_RO_PUBLIC_SESSION);
}, 120_000);
