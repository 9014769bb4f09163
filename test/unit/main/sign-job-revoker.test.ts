/**
 * The app's scan and sign jobs with a build-server certificate that names a designated revoker (issue 12.2's
 * sibling in the worker): the jobs had the ceremony config but not its `revokerKeys`, so such a certificate
 * could not be used at all. Real parts: gpg makes the certificates, the revocation and the signatures
 * (test/helpers/gpg-revoker.ts); a SoftHSM token holds the OpenPGP signing key and the payload key.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoPayload } from '../../../ceremony/payload/demo-payload.js';
import { JOBS } from '../../../main/worker/jobs.js';
import { runCeremony } from '../../helpers/cli.js';
import { makeSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../../helpers/softhsm.js';
import { makeRevokerMaterial, type RevokerMaterial } from '../../helpers/gpg-revoker.js';

const PIN = '246810';
const PAYLOAD = 'flatcar_test_update.gz';
const ctx = () => ({ signal: new AbortController().signal, progress: () => {} });

let dir: string;
let hsm: SoftHsm;
let m: RevokerMaterial;
let deactivate: () => void;
let n = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sign-job-revoker-'));
  writeDemoPayload(join(dir, PAYLOAD));
  m = makeRevokerMaterial([{ name: PAYLOAD, bytes: readFileSync(join(dir, PAYLOAD)) }]);
  hsm = makeSoftHsm();
  hsm.initToken('signing', PIN);
  deactivate = hsm.activate();
  const pinFile = join(dir, 'pin');
  writeFileSync(pinFile, PIN, { mode: 0o600 });
  for (const args of [
    ['--label', 'signing-1', '--bits', '2048', '--valid-days', '365', '--openpgp-uid', 'Test Signing <sign@example.org>'],
    ['--label', 'payload-2027', '--bits', '2048', '--valid-days', '365'],
  ]) {
    const r = runCeremony(['key', 'generate', '--token', 'pkcs11:token=signing', ...args, '--module', SOFTHSM_MODULE, '--pin-file', pinFile], { env: hsm.env });
    if (r.code !== 0) throw new Error(`key generate failed: ${r.stderr}`);
  }
  rmSync(pinFile);
}, 180_000);
afterAll(() => {
  deactivate?.();
  hsm?.cleanup();
  m?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** The release file and the payload with their signatures in an inbox; a config whose revokerKeys name the revoker. */
function setUp(trusted: string): { folder: string; outDir: string; recordDir: string; configFile: string; trustedKeys: string[] } {
  const base = join(dir, `run-${++n}`);
  const folder = join(base, 'inbox');
  mkdirSync(folder, { recursive: true });
  for (const p of [m.file, m.also[0]!].flatMap((f) => [f, `${f}.sig`, `${f}.DIGESTS.asc`])) copyFileSync(p, join(folder, basename(p)));
  const configFile = join(base, 'ceremony.json');
  const config = { hsm: { rootToken: 'root', signingToken: 'signing' }, identity: { name: 'Example', email: 'security@example.org' }, quorum: { threshold: 2, custodians: [{ name: 'alice' }, { name: 'bob' }] }, trustedBuildKeys: [trusted], revokerKeys: [m.cert.revoker] };
  writeFileSync(configFile, JSON.stringify(config));
  return { folder, outDir: join(base, 'out'), recordDir: join(base, 'records'), configFile, trustedKeys: [trusted] };
}

async function scan(s: ReturnType<typeof setUp>) {
  return JOBS['inbox.scan']({ folder: s.folder, trustedKeys: s.trustedKeys, configFile: s.configFile, signingKeyUri: 'pkcs11:token=signing', module: SOFTHSM_MODULE }, ctx());
}

function signParams(s: ReturnType<typeof setUp>, key: { uri: string; fingerprint: string }, payloadKeyUri: string) {
  const scanned = readdirSync(s.folder).filter((x) => !/\.(sig|asc|DIGESTS)$/.test(x));
  return { folder: s.folder, outDir: s.outDir, recordDir: s.recordDir, configFile: s.configFile, scanned, confirmedKey: key.fingerprint, trustedKeys: s.trustedKeys, signingKeyUri: key.uri, payloadKeyUri, module: SOFTHSM_MODULE, allowNetwork: true, pin: Buffer.from(PIN) };
}

describe("the app's jobs take the config's designated revokers", () => {
  it('a certificate naming a revoker that has not revoked: scanned VERIFIED, the release file and the payload signed, revoker-key recorded', async () => {
    const s = setUp(m.cert.named);
    const view = await scan(s);
    expect(view.files.map((f) => [f.name, f.status])).toEqual([
      [basename(m.file), 'VERIFIED'],
      [PAYLOAD, 'VERIFIED'],
    ]);
    const outcome = await JOBS['sign.run'](signParams(s, view.signingKey, view.payloadKeys[0]!.uri), ctx());
    expect(outcome.outputs.map((o) => o.name).sort()).toEqual([`${basename(m.file)}.sig`, `${PAYLOAD}.signed`]);
    const log = readFileSync(join(outcome.record.folder, 'log.jsonl'), 'utf8').split('\n')[0]!;
    expect(log).toContain('"revoker-key"');
    expect(log).toContain(m.cert.revoker);
  });

  it('the revoker has revoked the build key: scanned REJECTED (SIGNATURE_KEY_REVOKED) and nothing is signed', async () => {
    const s = setUp(m.cert.revoked);
    const view = await scan(s);
    expect(view.files.map((f) => [f.status, f.reason?.code])).toEqual([
      ['REJECTED', 'SIGNATURE_KEY_REVOKED'],
      ['REJECTED', 'SIGNATURE_KEY_REVOKED'],
    ]);
    await expect(JOBS['sign.run'](signParams(s, view.signingKey, view.payloadKeys[0]!.uri), ctx())).rejects.toMatchObject({ code: 'SIGNATURE_KEY_REVOKED' });
    expect(existsSync(s.outDir) ? readdirSync(s.outDir) : []).toEqual([]);
  });
});
