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
import { makeSoftHsm, TEST_SO_PIN, type SoftHsm } from '../../helpers/softhsm.js';
import { expectCleanError, runCeremony } from '../../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../../helpers/gpg.js';
import { scanForSecrets } from '../../helpers/secret-scan.js';
import { makeDemoBuildServer } from '../../../ceremony/release/demo-build-server.js';
import { writeDemoPayload } from '../../../ceremony/payload/demo-payload.js';
import { combineShareData, deriveBackupKeys, deriveQuorumPins, parseShare, pinFormatsOf } from '../../../ceremony/quorum/index.js';
import { parseStoredQuorumSet } from '../../../ceremony/ceremonies/quorum-state.js';
import { closeModule, openModule, ckrName } from '../../../ceremony/hsm/module.js';
import { PinAttempts, TokenSession, derivedPinSource } from '../../../ceremony/hsm/token.js';
import { findPrivateKey } from '../../../ceremony/hsm/keys.js';
import { createUntrustedWrappingKey, destroyWrappingKey, wrapPrivateKey } from '../../../ceremony/hsm/wrap.js';
import { pkcs11 } from '../../../ceremony/hsm/native.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { reviewRecord } from '../../../ceremony/audit/review.js';
import { execFileSync } from 'node:child_process';

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

/**
 * Every object on every token (file names and bytes). SoftHSM rewrites token.object (login flags) and
 * `generation` at each login, so those are left out; a created, changed or deleted object shows.
 */
function tokenDigest(): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (!f.endsWith('.lock') && f !== 'token.object' && f !== 'generation') h.update(f).update(readFileSync(p));
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

/** Run `act` and return the one record folder it added under records/. */
function recordOf(act: () => void): string {
  const before = new Set(readdirSync(join(work, 'records')));
  act();
  const added = readdirSync(join(work, 'records')).filter((d) => !before.has(d));
  expect(added).toHaveLength(1);
  return join(work, 'records', added[0]!);
}

/**
 * A backup refused before the root key was unlocked is sealed by the signing token's current signing key
 * (issue 13), reached with the maintainer's PIN, and reviews as refused with the renewed certificate pinned.
 */
async function expectSealedRefusal(record: string, step: string, code: string): Promise<void> {
  const r = await reviewRecord(record, { trustedCertificates: [readFileSync(join(work, 'renew', 'certificate.asc'), 'utf8')] });
  expect(r.verdict, r.summary).toBe('refused');
  expect(r.pinned).toBe(true);
  expect(r.refusal).toMatchObject({ step, code });
  expect(r.events.map((e) => e.event.step)).not.toContain('root-login');
}

/** Move the current tokens aside (the disaster, or a test of fresh tokens); `putBack` undoes it. */
function tokensAside(name: string): void {
  cpSync(join(hsm.dir, 'tokens'), join(work, name), { recursive: true });
  for (const d of readdirSync(join(hsm.dir, 'tokens'))) rmSync(join(hsm.dir, 'tokens', d), { recursive: true, force: true });
}
function putBack(name: string): void {
  rmSync(join(hsm.dir, 'tokens'), { recursive: true, force: true });
  cpSync(join(work, name), join(hsm.dir, 'tokens'), { recursive: true });
}

describe('refused, each with its code, and nothing changed', () => {
  it('a backup with k-1 shares is refused (QUORUM_NOT_MET): no file, tokens unchanged, the refusal sealed', async () => {
    const before = tokenDigest();
    let run!: ReturnType<typeof backup>;
    const record = recordOf(() => (run = backup('short.backup', 'renew', ['alice', 'bob'])));
    expectCleanError(run, 'QUORUM_NOT_MET', 1);
    expect(existsSync(join(work, 'short.backup'))).toBe(false);
    expect(tokenDigest()).toBe(before);
    await expectSealedRefusal(record, 'quorum-reached', 'QUORUM_NOT_MET');
  });

  it('a backup with shares of the superseded set is refused (each share SHARE_FOREIGN, then QUORUM_NOT_MET), the refusal sealed', async () => {
    const before = tokenDigest();
    let run!: ReturnType<typeof backup>;
    const record = recordOf(() => (run = backup('old.backup', 'init', ['alice', 'bob', 'carol'])));
    expectCleanError(run, 'QUORUM_NOT_MET', 1);
    expect(run.stdout.match(/another split/g)?.length).toBe(3);
    expect(existsSync(join(work, 'old.backup'))).toBe(false);
    expect(tokenDigest()).toBe(before);
    await expectSealedRefusal(record, 'quorum-reached', 'QUORUM_NOT_MET');
  });

  it('a backup never overwrites a file (OUTPUT_EXISTS)', () => {
    writeFileSync(join(work, 'taken.backup'), 'precious');
    const run = backup('taken.backup', 'renew', ['alice', 'bob', 'carol']);
    expectCleanError(run, 'OUTPUT_EXISTS', 2);
    expect(readFileSync(join(work, 'taken.backup'), 'utf8')).toBe('precious');
  });

  it('a restore onto tokens that already hold keys is refused (TOKEN_NOT_FREE), before any share is read', () => {
    const made = backup('refusals.backup', 'renew', ['alice', 'bob', 'carol']);
    expect(made.code, made.stderr + made.stdout).toBe(0);
    const before = tokenDigest();
    const onOld = restore('refusals.backup', 'renew', ['carol', 'dave', 'erin']);
    expectCleanError(onOld, 'TOKEN_NOT_FREE', 3);
    expect(onOld.stderr).toMatch(/labelled 'root' already exists/);
    expect(tokenDigest()).toBe(before);

    // Only the root token lost: the signing token still holds its keys and is refused as well.
    const rootDir = readdirSync(join(hsm.dir, 'tokens')).find((d) => readFileSync(join(hsm.dir, 'tokens', d, 'token.object')).includes('root'))!;
    tokensAside('tokens-before-root-loss');
    try {
      putBack('tokens-before-root-loss');
      rmSync(join(hsm.dir, 'tokens', rootDir), { recursive: true, force: true });
      const lessRoot = tokenDigest();
      const onSigning = restore('refusals.backup', 'renew', ['carol', 'dave', 'erin']);
      expectCleanError(onSigning, 'TOKEN_NOT_FREE', 3);
      expect(onSigning.stderr).toMatch(/token 'signing' already holds \d+ key object/);
      expect(tokenDigest()).toBe(lessRoot);
    } finally {
      putBack('tokens-before-root-loss');
    }
    expect(tokenDigest()).toBe(before);
  });

  it('a tampered backup file is refused (BACKUP_INVALID): no root token made, the fresh signing token unchanged', async () => {
    const made = backup('tamper-source.backup', 'renew', ['bob', 'carol', 'dave']);
    expect(made.code, made.stderr + made.stdout).toBe(0);
    const text = readFileSync(join(work, 'tamper-source.backup'), 'utf8');
    // Move the payload key's validity a year on: a change anyone could make to the JSON.
    const env1 = JSON.parse(text) as { body: string };
    const body = JSON.parse(env1.body) as { tokens: { keys: { label: string; endDate: string }[] }[] };
    const key = body.tokens.flatMap((t) => t.keys).find((k) => k.label === 'payload-1')!;
    key.endDate = `${Number(key.endDate.slice(0, 4)) + 1}${key.endDate.slice(4)}`;
    writeFileSync(join(work, 'tampered.backup'), JSON.stringify({ ...env1, body: JSON.stringify(body) }));
    tokensAside('tokens-before-tamper');
    try {
      hsm.initToken('signing', PIN);
      const fresh = tokenDigest();
      let run!: ReturnType<typeof restore>;
      const record = recordOf(() => (run = restore('tampered.backup', 'renew', ['carol', 'dave', 'erin'])));
      expectCleanError(run, 'BACKUP_INVALID', 1);
      // No key exists to seal a restore's refusal until its keys are restored (a fresh token, no root
      // token, no --seal-key): the record ends failed, unsealed, and reviews refused-unsealed (not a pass).
      const r = await reviewRecord(record);
      expect(r.verdict, r.summary).toBe('refused-unsealed');
      expect(r.lastStep).toBe('ceremony-end');
      expect(r.summary).toMatch(/^refused at step verify-input \(line \d+\): BACKUP_INVALID: .* — unsealed: no key that could seal it existed yet/);
      expect(tokenDigest()).toBe(fresh);
      expect(hsm.pkcs11Tool(['--list-token-slots'])).not.toMatch(/token label\s*:\s*root\b/);
      // The operators' SO PIN still opens the fresh signing token: it was not handed over.
      expect(() => hsm.pkcs11Tool(['--token-label', 'signing', '--session-rw', '--login', '--login-type', 'so', '--so-pin', TEST_SO_PIN, '--list-objects'])).not.toThrow();
    } finally {
      putBack('tokens-before-tamper');
    }
  });

  it('a restore with shares of another set than the backup\'s is refused (SHARE_FOREIGN each, QUORUM_NOT_MET): no root token, the fresh signing token unchanged', () => {
    const made = backup('set-check.backup', 'renew', ['alice', 'carol', 'erin']);
    expect(made.code, made.stderr + made.stdout).toBe(0);
    tokensAside('tokens-before-foreign');
    try {
      hsm.initToken('signing', PIN);
      const fresh = tokenDigest();
      const run = restore('set-check.backup', 'init', ['alice', 'bob', 'carol']);
      expectCleanError(run, 'QUORUM_NOT_MET', 1);
      expect(run.stdout.match(/another split/g)?.length).toBe(3);
      expect(tokenDigest()).toBe(fresh);
      expect(hsm.pkcs11Tool(['--list-token-slots'])).not.toMatch(/token label\s*:\s*root\b/);
    } finally {
      putBack('tokens-before-foreign');
    }
  });

  it("a maintainer's user session cannot wrap a key out under a wrapping key it made itself (KEY_NOT_WRAPPABLE), nor mark one trusted", async () => {
    const undo = hsm.activate();
    const mod = openModule('/usr/lib/softhsm/libsofthsm2.so');
    const ts = TokenSession.open(mod, { token: 'signing', extraPath: [], extraQuery: [] });
    try {
      await ts.login(derivedPinSource(Buffer.from(PIN)), new PinAttempts());
      const payload = findPrivateKey(ts, { object: 'payload-1', extraPath: [], extraQuery: [] });
      expect(payload.protections).toMatchObject({ sensitive: true, extractable: true, wrapWithTrusted: true });
      // PKCS#11 §4.8: only the SO may set CKA_TRUSTED.
      let refused = '';
      try {
        ts.lib.C_CreateObject(ts.handle, [
          { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
          { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_AES },
          { type: pkcs11.CKA_TOKEN, value: false },
          { type: pkcs11.CKA_VALUE, value: Buffer.alloc(32, 1) },
          { type: pkcs11.CKA_WRAP, value: true },
          { type: pkcs11.CKA_TRUSTED, value: true },
        ]);
      } catch (e) {
        refused = ckrName(e) ?? String(e);
      }
      expect(refused).toBe('CKR_ATTRIBUTE_READ_ONLY');
      const own = createUntrustedWrappingKey(ts, Buffer.alloc(32, 2));
      try {
        let err: unknown;
        try {
          wrapPrivateKey(own, payload.handle, payload.label);
        } catch (e) {
          err = e;
        }
        expect(isCeremonyError(err, 'KEY_NOT_WRAPPABLE'), String(err)).toBe(true);
        expect((err as Error).message).toMatch(/CKR_KEY_NOT_WRAPPABLE/);
      } finally {
        destroyWrappingKey(own);
      }
    } finally {
      ts.close();
      closeModule();
      undo();
    }
  });
});

describe('backup and restore survive the loss of both tokens', () => {
  it('init, renew, sign; back up with 3 shares; delete the tokens; restore with 3 others; sign again under the OLD keys', async () => {
    const before = await signRelease('signed-before');
    expect(ceremony(['payload', 'verify', '--public-key', 'payload-1.pub.pem', before.payloadOut]).code).toBe(0);

    // Keys that cannot leave are named: a standalone OpenPGP key (never extractable by design) and a key
    // imported the old way (no state record, never extractable), as made before issue 11.
    const seal = ceremony(['key', 'generate', '--token', 'pkcs11:token=signing', '--label', 'seal-1', '--bits', '2048', '--valid-days', '30', '--openpgp-uid', 'Record Seal <seal@example.org>']);
    expect(seal.code, seal.stderr).toBe(0);
    execFileSync('openssl', ['genrsa', '-out', join(work, 'legacy.pem'), '2048'], { stdio: 'ignore' });
    execFileSync('openssl', ['rsa', '-in', join(work, 'legacy.pem'), '-outform', 'DER', '-out', join(work, 'legacy.der')], { stdio: 'ignore' });
    hsm.pkcs11Tool(['--token-label', 'signing', '--login', '--pin', PIN, '--write-object', join(work, 'legacy.der'), '--type', 'privkey', '--id', '0c0c', '--label', 'legacy-payload']);

    const made = backup('keys.backup', 'renew', ['alice', 'bob', 'carol']);
    expect(made.code, made.stderr + made.stdout).toBe(0);
    expect(made.stdout).toMatch(/NOT backed up\s+signing: seal-1: a standalone OpenPGP key/);
    expect(made.stdout).toMatch(/NOT backed up\s+signing: legacy-payload: made before key state records/);
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
    // The restored root token takes the PINs the backup's set derives (so the scan below looks for the right ones).
    const pins = await pinsOf(['renew/shares/alice.share', 'renew/shares/bob.share', 'renew/shares/carol.share']);
    expect(() => hsm.pkcs11Tool(['--token-label', 'root', '--login', '--pin', pins.userPin.toString(), '--list-objects'])).not.toThrow();

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
    expect(renewed.stdout).toMatch(/every backup made before this renewal is now stale/);

    // Both records review as intact, sealed by the root key.
    for (const kind of ['backup', 'restore']) {
      const dir = readdirSync(join(work, 'records')).filter((d) => d.includes(`-${kind}-`)).sort().pop()!;
      const review = await reviewRecord(join(work, 'records', dir));
      expect(review.verdict, review.summary).toBe('intact');
      expect(review.kind).toBe(kind);
    }

    // No secret on disk: the backup file and every record.
    const shares = CUSTODIANS.map((n) => readFileSync(join(work, 'renew', 'shares', `${n}.share`), 'utf8'));
    const scan = scanForSecrets([join(work, 'records'), join(work, 'keys.backup')], [Buffer.from(PIN), pins.secret, pins.userPin, pins.soPin, pins.signingSoPin, pins.wrapKey, pins.macKey, ...shares]);
    expect(scan.filesScanned).toBeGreaterThan(5);
    expect(scan.hits).toEqual([]);
  }, 600_000);
});

/** The secret, PINs and backup keys of the set whose shares are given (k of them), as only k custodians could. */
async function pinsOf(files: string[]) {
  const shares = files.map((f) => parseShare(readFileSync(join(work, f)), f));
  const secret = await combineShareData(shares);
  // The PIN formats (never the PINs) are in the set's descriptor, which the backup file carries.
  const body = JSON.parse((JSON.parse(readFileSync(join(work, 'keys.backup'), 'utf8')) as { body: string }).body) as { quorumSet: string };
  const set = parseStoredQuorumSet(Buffer.from(body.quorumSet), 'backup');
  expect(set.descriptor.setId).toBe(shares[0]!.setId);
  return { secret, ...deriveQuorumPins(secret, shares[0]!.setId, pinFormatsOf(set.descriptor)), ...deriveBackupKeys(secret, shares[0]!.setId) };
}
