/**
 * The worker's sign-update jobs on a real SoftHSM token and a real signed inbox: update payloads told by
 * their content, payload keys listed from the token without a PIN (the OpenPGP key left out), and the
 * ceremony's all-or-nothing rule — a tampered release file or payload means nothing at all is signed and
 * the refusal is in a record — then release files and the payload signed together with one PIN.
 */
import { createPublicKey } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoBuildServer, type DemoBuildServer } from '../../../ceremony/release/demo-build-server.js';
import { writeDemoPayload } from '../../../ceremony/payload/demo-payload.js';
import { verifyPayload } from '../../../ceremony/payload/verify.js';
import { reviewRecord } from '../../../ceremony/audit/review.js';
import { JOBS } from '../../../main/worker/jobs.js';
import { classify } from '../../../ceremony/release/inbox.js';
import { runCeremony } from '../../helpers/cli.js';
import { makeSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../../helpers/softhsm.js';

const PIN = '246810';
const PAYLOAD = 'flatcar_test_update.gz';
const ctx = () => ({ signal: new AbortController().signal, progress: () => {} });

let dir: string;
let build: DemoBuildServer;
let hsm: SoftHsm;
let deactivate: () => void;
let n = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sign-job-test-'));
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
  mkdirSync(join(dir, 'build'));
  writeDemoPayload(join(dir, 'build', PAYLOAD));
  build = await makeDemoBuildServer(join(dir, 'build'), { rsaBits: 2048, alsoSign: [PAYLOAD] });
}, 120_000);
afterAll(() => {
  deactivate();
  hsm.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh copy of the signed release on "transfer media", and an output folder. */
function freshInbox(tamper?: string): { folder: string; outDir: string; recordDir: string } {
  const base = join(dir, `run-${++n}`);
  const folder = join(base, 'inbox');
  mkdirSync(folder, { recursive: true });
  for (const name of readdirSync(build.dir).filter((x) => x !== basename(build.certificate))) copyFileSync(join(build.dir, name), join(folder, name));
  if (tamper) appendFileSync(join(folder, tamper), 'altered after signing');
  return { folder, outDir: join(base, 'out'), recordDir: join(base, 'records') };
}

async function scan(folder: string) {
  return JOBS['inbox.scan']({ folder, trustedKeys: [build.certificate], signingKeyUri: 'pkcs11:token=signing', module: SOFTHSM_MODULE }, ctx());
}

function signParams(inbox: { folder: string; outDir: string; recordDir: string }, key: { uri: string; fingerprint: string }, payloadKeyUri?: string) {
  const scanned = readdirSync(inbox.folder).filter((x) => !/\.(sig|asc|DIGESTS)$/.test(x));
  return { ...inbox, scanned, confirmedKey: key.fingerprint, trustedKeys: [build.certificate], signingKeyUri: key.uri, module: SOFTHSM_MODULE, allowNetwork: true, pin: Buffer.from(PIN), ...(payloadKeyUri ? { payloadKeyUri } : {}) };
}

function logsOf(recordDir: string): string[] {
  return existsSync(recordDir) ? readdirSync(recordDir).map((r) => readFileSync(join(recordDir, r, 'log.jsonl'), 'utf8')) : [];
}

describe('classify', () => {
  it('calls a file an update payload by its CrAU magic, never by its name', () => {
    expect(classify('flatcar_production_image.bin', Buffer.from('\x7fELF'))).toBe('release');
    expect(classify('payload.gz', Buffer.from('\x1f\x8b\x08\x00'))).toBe('release');
    expect(classify('update', Buffer.from('CrAU'))).toBe('payload');
    expect(classify('update', Buffer.from('Cr'))).toBe('release');
    expect(classify('x.bin.sig', Buffer.from('CrAU'))).toBe('signature');
    expect(classify('x.DIGESTS.asc')).toBe('digests');
  });
});

describe('the sign-update jobs', () => {
  it('the scan marks the payload by content and lists the RSA-2048 payload key, not the OpenPGP signing key', async () => {
    const view = await scan(freshInbox().folder);
    expect(view.files.map((f) => [f.name, f.kind, f.status])).toEqual(
      [...build.files.map((p) => basename(p))].sort().map((name) => [name, name === PAYLOAD ? 'payload' : 'release', 'VERIFIED']),
    );
    expect(view.payloadKeys.map((k) => k.label)).toEqual(['payload-2027']);
    expect(view.payloadKeys[0]!.fingerprint).toMatch(/^[0-9A-F]{64}$/);
    expect(view.signingKey.uri).toContain('object=signing-1');
  });

  it('a tampered release file: nothing is signed, not even the verified payload, and the record names the refusal', async () => {
    const inbox = freshInbox('version.txt');
    const view = await scan(inbox.folder);
    await expect(JOBS['sign.run'](signParams(inbox, view.signingKey, view.payloadKeys[0]!.uri), ctx())).rejects.toMatchObject({
      code: expect.stringMatching(/^(SIGNATURE_INVALID|DIGEST_MISMATCH)$/),
      message: expect.stringContaining('nothing was signed'),
    });
    expect(existsSync(inbox.outDir) ? readdirSync(inbox.outDir) : []).toEqual([]);
    const logs = logsOf(inbox.recordDir);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/"result":"refused".*version\.txt/);
    expect(logs[0]).not.toContain('"step":"sign"');
  });

  it('a tampered payload: the release files are not signed either, and the record names the payload', async () => {
    const inbox = freshInbox(PAYLOAD);
    const view = await scan(inbox.folder);
    expect(view.files.find((f) => f.name === PAYLOAD)?.status).toBe('REJECTED');
    await expect(JOBS['sign.run'](signParams(inbox, view.signingKey, view.payloadKeys[0]!.uri), ctx())).rejects.toMatchObject({
      code: expect.stringMatching(/^(SIGNATURE_INVALID|DIGEST_MISMATCH)$/),
    });
    expect(existsSync(inbox.outDir) ? readdirSync(inbox.outDir) : []).toEqual([]);
    const logs = logsOf(inbox.recordDir);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(new RegExp(`"result":"refused".*${PAYLOAD.replace(/\./g, '\\.')}`));
  });

  it('every input verified: one PIN signs the release files (OpenPGP) and the payload (payload key) in one sealed record', async () => {
    const inbox = freshInbox();
    const view = await scan(inbox.folder);
    const outcome = await JOBS['sign.run'](signParams(inbox, view.signingKey, view.payloadKeys[0]!.uri), ctx());
    const releases = build.files.map((p) => basename(p)).filter((x) => x !== PAYLOAD);
    expect(outcome.outputs.map((o) => o.name).sort()).toEqual([...releases.map((x) => `${x}.sig`), `${PAYLOAD}.signed`].sort());
    expect(outcome.skipped).toEqual([]);
    expect(outcome.records).toHaveLength(1); // one ceremony, one record, release files and payload together
    for (const r of outcome.records) expect((await reviewRecord(r.folder)).verdict).toBe('intact');
    // The payload carries the payload key's signature, checked by update_engine's rule with its public key.
    const pem = runCeremony(['key', 'export', '--key', 'pkcs11:token=signing;object=payload-2027', '--format', 'pem', '--module', SOFTHSM_MODULE], { env: hsm.env });
    expect(pem.code).toBe(0);
    const v = await verifyPayload(join(inbox.outDir, `${PAYLOAD}.signed`), [createPublicKey(pem.stdout)]);
    expect(v.ok).toBe(true);
  });

  it("a plan for another key than the one the app's confirmation screen showed is not confirmed: nothing is signed and the record says so", async () => {
    const inbox = freshInbox();
    const view = await scan(inbox.folder);
    const params = { ...signParams(inbox, view.signingKey, view.payloadKeys[0]!.uri), confirmedKey: 'AB'.repeat(20) };
    await expect(JOBS['sign.run'](params, ctx())).rejects.toMatchObject({ code: 'NOT_CONFIRMED' });
    expect(existsSync(inbox.outDir) ? readdirSync(inbox.outDir) : []).toEqual([]);
    expect(logsOf(inbox.recordDir).join('')).toMatch(/"step":"confirm".*"result":"(failed|refused)"/);
  });

  it('a file put into the inbox after it was verified and read aloud is never signed: the inbox must be chosen again', async () => {
    const inbox = freshInbox();
    const view = await scan(inbox.folder);
    const params = signParams(inbox, view.signingKey, view.payloadKeys[0]!.uri);
    copyFileSync(join(inbox.folder, 'version.txt'), join(inbox.folder, 'unseen.txt'));
    await expect(JOBS['sign.run'](params, ctx())).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('choose the inbox folder again') });
    expect(existsSync(inbox.outDir)).toBe(false);
  });

  it('with no payload key chosen (none on the token), the release files are signed and the payload is skipped with a note', async () => {
    const inbox = freshInbox();
    const view = await scan(inbox.folder);
    const outcome = await JOBS['sign.run'](signParams(inbox, view.signingKey), ctx());
    expect(outcome.outputs.map((o) => o.name)).not.toContain(`${PAYLOAD}.signed`);
    expect(outcome.skipped).toEqual([{ name: PAYLOAD, reason: expect.stringContaining('no RSA-2048 payload key') }]);
    expect(existsSync(join(inbox.outDir, `${PAYLOAD}.signed`))).toBe(false);
    expect(existsSync(join(inbox.outDir, `${PAYLOAD}.sig`))).toBe(false);
  });
});
