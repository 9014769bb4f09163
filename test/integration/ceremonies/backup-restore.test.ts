/**
 * The disaster, end to end through the real `ceremony` binary on real SoftHSM tokens (issue 11): init
 * 3-of-5, renew with a payload key, sign a release and a payload, back up with 3 shares, delete both
 * tokens' directories, restore onto new tokens with 3 other shares, then sign again: the payload verifies
 * with the OLD payload public key (update_engine's rule, `payload verify --public-key`) and the release
 * signature verifies with real gpg against the OLD exported certificate. Each refusal carries its code
 * and changes nothing; no PIN, share or secret reaches the backup file or a record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { makeSoftHsm, type SoftHsm } from '../../helpers/softhsm.js';
import { expectCleanError, runCeremony } from '../../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../../helpers/gpg.js';
import { scanForSecrets } from '../../helpers/secret-scan.js';
import { makeDemoBuildServer } from '../../../ceremony/release/demo-build-server.js';
import { writeDemoPayload } from '../../../ceremony/payload/demo-payload.js';
import { combineShareData, deriveBackupKeys, deriveQuorumPins, parseShare } from '../../../ceremony/quorum/index.js';

const PIN = 'maintainer-pin-11';
const CUSTODIANS = ['alice', 'bob', 'carol', 'dave', 'erin'];
let hsm: SoftHsm;
let gpg: GpgHome;
let work: string;
let env: NodeJS.ProcessEnv;
let subkeyUri: string;

function ceremony(args: string[], e: NodeJS.ProcessEnv = env) {
  return runCeremony(args, { env: e, cwd: work });
}
const shareArgs = (dir: string, names: string[]) => names.flatMap((n) => ['--share', `${dir}/shares/${n}.share`]);
const backup = (out: string, dir: string, names: string[]) => ceremony(['backup', '--config', 'config.json', '--out', out, '--record-dir', 'records', '--allow-network', ...shareArgs(dir, names)]);
const restore = (file: string, dir: string, names: string[]) => ceremony(['restore', '--config', 'config.json', '--backup', file, '--record-dir', 'records', '--allow-network', ...shareArgs(dir, names)]);

function tokenDigest(): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (!f.endsWith('.lock')) h.update(f).update(readFileSync(p));
    }
  };
  walk(join(hsm.dir, 'tokens'));
  return h.digest('hex');
}

/** Sign a fresh release (and the payload) with `sign --payload-key`, into `out`. */
async function signRelease(out: string): Promise<{ releases: string[]; payloadOut: string; release: string }> {
  const inbox = join(work, `inbox-${out}`);
  mkdirSync(inbox);
  writeDemoPayload(join(inbox, 'flatcar_production_update.gz'));
  const server = await makeDemoBuildServer(inbox, { rsaBits: 2048, alsoSign: ['flatcar_production_update.gz'] });
  const payload = join(inbox, 'flatcar_production_update.gz');
  const releases = server.files.filter((f) => f !== payload);
  const run = ceremony(['sign', '--trusted-key', join(inbox, 'build-server.asc'), '--key', subkeyUri, '--payload-key', 'pkcs11:token=signing;object=payload-1', '--payload', payload, '--out-dir', out, '--record-dir', 'records', '--allow-network', ...releases]);
  expect(run.code, run.stderr + run.stdout).toBe(0);
  const release = releases.find((f) => f.endsWith('version.txt'))!;
  return { releases, payloadOut: join(work, out, 'flatcar_production_update.gz.signed'), release };
}

beforeAll(async () => {
  hsm = makeSoftHsm('ceremony-backup-');
  hsm.initToken('signing', PIN);
  work = join(hsm.dir, 'work');
  mkdirSync(work, { recursive: true });
  env = { ...hsm.env, CEREMONY_PIN: PIN };
  gpg = makeGpgHome();
  writeFileSync(
    join(work, 'config.json'),
    JSON.stringify({
      hsm: { rootToken: 'root', signingToken: 'signing' },
      identity: { name: 'Example Image Signing Key', email: 'security@example.org' },
      quorum: { threshold: 3, custodians: CUSTODIANS.map((name) => ({ name })) },
      keys: { subkeyValidityDays: 365, overlapDays: 30, renewWindowDays: 60 },
      trustedBuildKeys: [],
    }),
  );
  const init = ceremony(['init', '--config', 'config.json', '--out', 'init', '--record-dir', 'records', '--allow-network']);
  expect(init.code, init.stderr + init.stdout).toBe(0);
  const renew = ceremony(['renew', '--config', 'config.json', '--out', 'renew', '--record-dir', 'records', '--allow-network', '--new-payload-key', 'payload-1', ...shareArgs('init', ['alice', 'bob', 'carol'])]);
  expect(renew.code, renew.stderr + renew.stdout).toBe(0);
  const listed = hsm.pkcs11Tool(['--token-label', 'signing', '--list-objects']);
  const labels = [...listed.matchAll(/label:\s+(signing-\S+)/g)].map((m) => m[1]!).sort();
  subkeyUri = `pkcs11:token=signing;object=${labels[labels.length - 1]}`;
  expect(ceremony(['key', 'export', '--key', 'pkcs11:token=signing;object=payload-1', '--out', 'payload-1.pub.pem']).code).toBe(0);
}, 600_000);

afterAll(() => {
  hsm?.cleanup();
  gpg?.cleanup();
});

describe('backup and restore survive the loss of both tokens', () => {
  it('init, renew, sign; back up with 3 shares; delete the tokens; restore with 3 others; sign again under the OLD keys', async () => {
    const before = await signRelease('signed-before');
    expect(ceremony(['payload', 'verify', '--public-key', 'payload-1.pub.pem', before.payloadOut]).code).toBe(0);

    const made = backup('keys.backup', 'renew', ['alice', 'bob', 'carol']);
    expect(made.code, made.stderr + made.stdout).toBe(0);
    expect(made.stdout).toMatch(/backed up\s+root: root-key \[root\]/);
    expect(made.stdout).toMatch(/backed up\s+signing: payload-1 \[payload\]/);
    expect(made.stdout).toMatch(/backed up\s+signing: signing-\S+ \[signing-subkey\]/);

    // The disaster: both tokens are gone.
    for (const d of readdirSync(join(hsm.dir, 'tokens'))) rmSync(join(hsm.dir, 'tokens', d), { recursive: true, force: true });
    expect(ceremony(['payload', 'sign', '--key', 'pkcs11:token=signing;object=payload-1', '--out', 'x.signed', '--record-dir', 'records', '--allow-network', before.payloadOut]).code).not.toBe(0);

    // The operators set up a fresh signing token as at init; the quorum restores onto it with other custodians.
    hsm.initToken('signing', PIN);
    const back = restore('keys.backup', 'renew', ['carol', 'dave', 'erin']);
    expect(back.code, back.stderr + back.stdout).toBe(0);
    expect(back.stdout).toMatch(/restored\s+root: root-key \[root\]/);

    const after = await signRelease('signed-after');
    const ok = ceremony(['payload', 'verify', '--public-key', 'payload-1.pub.pem', after.payloadOut]);
    expect(ok.code, ok.stderr + ok.stdout).toBe(0);
    // gpg with only the certificate exported before the disaster accepts the new release signature.
    gpg.run(['--import', join(work, 'renew', 'certificate.asc')]);
    const v = gpg.run(['--verify', join(work, 'signed-after', 'version.txt.sig'), after.release]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toMatch(/Good signature/);

    // After the restore the next renewal works with the shares in force (old shares keep working).
    const renewed = ceremony(['renew', '--config', 'config.json', '--out', 'renew-2', '--record-dir', 'records', '--allow-network', ...shareArgs('renew', ['bob', 'dave', 'erin'])]);
    expect(renewed.code, renewed.stderr + renewed.stdout).toBe(0);

    // No secret on disk: the backup file and every record.
    const pins = await pinsOf(['renew/shares/alice.share', 'renew/shares/bob.share', 'renew/shares/carol.share']);
    const shares = CUSTODIANS.map((n) => readFileSync(join(work, 'renew', 'shares', `${n}.share`), 'utf8'));
    const scan = scanForSecrets([join(work, 'records'), join(work, 'keys.backup')], [Buffer.from(PIN), pins.secret, pins.userPin, pins.soPin, pins.signingSoPin, pins.wrapKey, pins.macKey, ...shares]);
    expect(scan.filesScanned).toBeGreaterThan(5);
    expect(scan.hits).toEqual([]);
  }, 600_000);
});

async function pinsOf(files: string[]) {
  const shares = files.map((f) => parseShare(readFileSync(join(work, f)), f));
  const secret = await combineShareData(shares);
  return { secret, ...deriveQuorumPins(secret, shares[0]!.setId), ...deriveBackupKeys(secret, shares[0]!.setId) };
}
