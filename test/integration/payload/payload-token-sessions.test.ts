/**
 * A sign ceremony leaves no token logged in, however it ends. PKCS#11 login state is per token and per
 * process (PKCS#11 v2.40 §5.6): one session left open keeps the token logged in, so anything else the
 * process runs later (the app's worker serves many jobs) could use its keys without a PIN. The fault
 * this stops: a payload key on a second token whose selection fails after its login, with the session
 * of that login never handed to the cleanup.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../../helpers/softhsm.js';
import { runCeremony } from '../../helpers/cli.js';
import { makeUnsignedPayload } from '../../unit/payload/make-payload.js';
import { makeDemoBuildServer, type DemoBuildServer } from '../../../ceremony/release/demo-build-server.js';
import { closeModule, openModule } from '../../../ceremony/hsm/module.js';
import { TokenSession } from '../../../ceremony/hsm/token.js';
import { parsePkcs11Uri } from '../../../ceremony/hsm/uri.js';
import { runSignUpdate } from '../../../ceremony/ceremonies/sign-update.js';
import { reviewRecord } from '../../../ceremony/audit/review.js';

const PIN = 'payload-sessions-1';
const CKS_RO_PUBLIC_SESSION = 0;
let hsm: SoftHsm;
let deactivate: () => void;
let bs: DemoBuildServer;
let payload: string;

beforeAll(async () => {
  hsm = makeSoftHsm('payload-sessions-');
  hsm.initToken('signing', PIN);
  hsm.initToken('payloads', PIN);
  deactivate = hsm.activate();
  const env = { ...hsm.env, CEREMONY_PIN: PIN };
  for (const [token, args] of [
    ['signing', ['--label', 'release', '--bits', '2048', '--valid-days', '30', '--openpgp-uid', 'Release <release@example.org>']],
    ['payloads', ['--label', 'payload', '--bits', '2048', '--valid-days', '30']],
  ] as const) {
    const r = runCeremony(['key', 'generate', '--token', `pkcs11:token=${token}`, ...args], { env });
    expect(r.code, r.stderr).toBe(0);
  }
  const inbox = join(hsm.dir, 'inbox');
  mkdirSync(inbox);
  payload = join(inbox, 'update.unsigned');
  makeUnsignedPayload(payload, 64 * 1024);
  bs = await makeDemoBuildServer(inbox, { rsaBits: 2048, alsoSign: ['update.unsigned'] });
}, 180_000);

afterAll(() => {
  closeModule();
  deactivate?.();
  hsm?.cleanup();
});

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
  const work = join(hsm.dir, 'missing-payload-key');
  const outDir = join(work, 'signed');
  await expect(
    runSignUpdate({
      recordDir: join(work, 'records'),
      allowNetwork: true,
      attended: false,
      module: SOFTHSM_MODULE,
      env: { ...hsm.env, CEREMONY_PIN: PIN },
      reporter: { step() {}, warn() {} },
      now: () => new Date(),
      recordedOptions: [],
      files: bs.files.filter((f) => f !== payload),
      trustedKeys: [bs.certificate],
      key: parsePkcs11Uri('pkcs11:token=signing;object=release'),
      outDir,
      armor: false,
      payloads: [payload],
      payloadKeys: [parsePkcs11Uri('pkcs11:token=payloads;object=payload'), parsePkcs11Uri('pkcs11:token=payloads;object=no-such-key')],
    }),
  ).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
  expect(existsSync(outDir) ? readdirSync(outDir) : []).toEqual([]);
  const [record] = readdirSync(join(work, 'records'));
  expect((await reviewRecord(join(work, 'records', record!))).verdict).toBe('refused');
  expect(loginState('payloads')).toBe(CKS_RO_PUBLIC_SESSION);
  expect(loginState('signing')).toBe(CKS_RO_PUBLIC_SESSION);
}, 120_000);
