/**
 * The build server's yearly subkey, certified in the renewal (issue 15). The "build server" is a GnuPG
 * home: it makes its key with gpg, exports it, and `ceremony build-key request` (the compiled CLI, run on
 * its side) makes the request. The renewal runs on real SoftHSM tokens. Afterwards the build server signs
 * with gpg; GnuPG verifies that signature against the published certificate, and `ceremony verify`
 * accepts it with the root certificate pinned. Each refused request: its own code, and nothing in force
 * changed (checked before any share is taken, so long before the PINs rotate).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { armor, config as openpgpConfig, enums, PacketList, readKey, readPrivateKey, PublicKeyPacket, PublicSubkeyPacket, SignaturePacket, unarmor, type AnyPacket } from 'openpgp';
import { makeSoftHsm, SOFTHSM_MODULE, TEST_SO_PIN, type SoftHsm } from '../../helpers/softhsm.js';
import { makeGpgHome, type GpgHome } from '../../helpers/gpg.js';
import { expectCleanError, runCeremony } from '../../helpers/cli.js';
import { closeModule, openModule } from '../../../ceremony/hsm/module.js';
import { TokenSession } from '../../../ceremony/hsm/token.js';
import { findKeys } from '../../../ceremony/hsm/keys.js';
import { loadConfig } from '../../../ceremony/config.js';
import { runInit } from '../../../ceremony/ceremonies/init.js';
import { runRenew } from '../../../ceremony/ceremonies/renew.js';
import { readQuorumSet, readRootCertificate } from '../../../ceremony/ceremonies/quorum-state.js';
import type { CeremonyReporter } from '../../../ceremony/ceremonies/runner.js';
import { isCeremonyError, type ErrorCode } from '../../../ceremony/errors.js';

const PIN = 'maintainer-pin-bk';
let hsm: SoftHsm;
let work: string;
let restore: () => void;
let buildServer: GpgHome;
const quiet: CeremonyReporter = { step() {}, warn() {} };
/** Build-server keys (fingerprints), made with gpg on its side. */
const keys: Record<'lastYear' | 'next' | 'weak' | 'other', string> = { lastYear: '', next: '', weak: '', other: '' };

function common(out: string) {
  return {
    config: loadConfig(join(work, 'config.json')),
    outDir: join(work, out),
    recordDir: join(work, 'records'),
    allowNetwork: true,
    attended: false,
    env: { CEREMONY_PIN: PIN, CEREMONY_SO_PIN: TEST_SO_PIN },
    reporter: quiet,
    now: () => new Date(),
    recordedOptions: [],
  };
}

function shares(dir = 'init') {
  return ['alice', 'bob'].map((n) => ({ source: `${n}.share`, text: readFileSync(join(work, dir, 'shares', `${n}.share`)) }));
}

function state() {
  const mod = openModule(SOFTHSM_MODULE);
  const root = TokenSession.open(mod, { token: 'root', extraPath: [], extraQuery: [] }, false);
  const signing = TokenSession.open(mod, { token: 'signing', extraPath: [], extraQuery: [] }, false);
  try {
    return {
      set: readQuorumSet(root),
      certificate: Buffer.from(readRootCertificate(root)).toString('base64'),
      signingKeys: findKeys(signing, { extraPath: [], extraQuery: [] }).map((k) => `${k.type}:${k.label}`).sort(),
    };
  } finally {
    root.close();
    signing.close();
  }
}

/** gpg on the build server: a standalone signing key, no passphrase (it lives on the build server's disk or HSM). */
function gpgKey(uid: string, algo: string): string {
  const made = buildServer.run(['--passphrase', '', '--quick-gen-key', uid, algo, 'sign', '2y']);
  if (made.code !== 0) throw new Error(made.stderr);
  const fpr = buildServer.run(['--with-colons', '--list-keys', uid]).stdout.split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9]!;
  return fpr;
}

/** The build server's side: export its key from gpg and run `ceremony build-key request` on it (via stdin). */
function makeRequest(fpr: string, out: string, rootCert = join(work, 'init', 'certificate.asc')) {
  const secret = buildServer.run(['--armor', '--export-secret-keys', fpr]);
  expect(secret.code, secret.stderr).toBe(0);
  return runCeremony(['build-key', 'request', '--root-cert', rootCert, '--key-file', '-', '--out', join(work, out)], { input: secret.stdout });
}

async function packetsOf(file: string): Promise<PacketList<AnyPacket>> {
  const { data } = await unarmor(readFileSync(file, 'utf8'));
  return PacketList.fromBinary(data as Uint8Array, { [enums.packet.publicKey]: PublicKeyPacket, [enums.packet.publicSubkey]: PublicSubkeyPacket, [enums.packet.signature]: SignaturePacket } as never);
}

async function refusedWith(code: ErrorCode, requestFile: string, out: string): Promise<void> {
  const before = state();
  const err = await runRenew({ ...common(out), shares: shares(), buildSubkey: { source: requestFile, bytes: readFileSync(join(work, requestFile)) } }).catch((e: unknown) => e);
  expect(isCeremonyError(err) ? err.code : err).toBe(code);
  expect(state()).toEqual(before);
  // nothing handed out, nothing staged left behind
  expect(existsSync(join(work, out)) ? readdirSync(join(work, out)) : []).toEqual([]);
}

beforeAll(async () => {
  hsm = makeSoftHsm('ceremony-buildkey-');
  hsm.initToken('signing', PIN);
  restore = hsm.activate();
  work = join(hsm.dir, 'work');
  mkdirSync(work);
  buildServer = makeGpgHome();
  keys.lastYear = gpgKey('Build Server 2025 <build@example.org>', 'rsa3072');
  keys.next = gpgKey('Build Server 2026 <build@example.org>', 'rsa3072');
  keys.weak = gpgKey('Build Server weak <build@example.org>', 'rsa2048');
  keys.other = gpgKey('Someone Else <else@example.org>', 'rsa3072');
  // Last year's build key was pinned on its own (before this flow): the config trusts it.
  writeFileSync(join(work, 'build-2025.asc'), buildServer.run(['--armor', '--export', keys.lastYear]).stdout);
  writeFileSync(
    join(work, 'config.json'),
    JSON.stringify({
      hsm: { rootToken: 'root', signingToken: 'signing' },
      identity: { name: 'Build Key Test Root', email: 'root@example.org' },
      quorum: { threshold: 2, custodians: ['alice', 'bob', 'carol'].map((name) => ({ name })) },
      keys: { subkeyValidityDays: 365, overlapDays: 30, renewWindowDays: 60 },
      trustedBuildKeys: ['build-2025.asc'],
    }),
  );
  await runInit(common('init'));
}, 180_000);

afterAll(() => {
  closeModule();
  restore?.();
  buildServer?.cleanup();
  hsm?.cleanup();
});

describe('a build-server subkey request is refused with its own code, and nothing in force changes', () => {
  it('a substituted subkey: the back-signature is not over this key (BUILD_SUBKEY_BACKSIG_INVALID)', async () => {
    // An attacker swaps their own key into an honest request: the build server's consent does not cover it.
    expect(makeRequest(keys.next, 'honest.req.asc').code).toBe(0);
    expect(makeRequest(keys.other, 'other.req.asc').code).toBe(0);
    const honest = await packetsOf(join(work, 'honest.req.asc'));
    const other = await packetsOf(join(work, 'other.req.asc'));
    const forged = new PacketList<AnyPacket>();
    forged.push(honest[0]!, other[1]!, honest[2]!);
    writeFileSync(join(work, 'forged.req.asc'), armor(enums.armor.publicKey, forged.write()));
    await refusedWith('BUILD_SUBKEY_BACKSIG_INVALID', 'forged.req.asc', 'out-forged');
  }, 120_000);

  it('a back-signature with a flipped bit (BUILD_SUBKEY_BACKSIG_INVALID)', async () => {
    const bytes = Buffer.from((await unarmor(readFileSync(join(work, 'honest.req.asc'), 'utf8'))).data as Uint8Array);
    bytes[bytes.length - 10]! ^= 0x01; // inside the signature's RSA value
    writeFileSync(join(work, 'flipped.req'), bytes);
    await refusedWith('BUILD_SUBKEY_BACKSIG_INVALID', 'flipped.req', 'out-flipped');
  }, 120_000);

  it("reusing last year's pinned build key (BUILD_SUBKEY_REUSED)", async () => {
    expect(makeRequest(keys.lastYear, 'old.req.asc').code).toBe(0);
    await refusedWith('BUILD_SUBKEY_REUSED', 'old.req.asc', 'out-old');
  }, 120_000);

  it('a key smaller than RSA-3072 (BUILD_SUBKEY_WEAK), refused already on the build server', async () => {
    const run = makeRequest(keys.weak, 'weak.req.asc');
    expectCleanError(run, 'BUILD_SUBKEY_WEAK', 1);
    expect(existsSync(join(work, 'weak.req.asc'))).toBe(false);
  });

  it('a too-small key in a request made by other means, at the ceremony (BUILD_SUBKEY_WEAK)', async () => {
    // The request format is open: anyone can make one without our tool. Here openpgp.js signs a valid 0x19
    // with the RSA-2048 key; the ceremony checks the policy again.
    const secret = await readPrivateKey({ armoredKey: buildServer.run(['--armor', '--export-secret-keys', keys.weak]).stdout });
    const root = (await readKey({ armoredKey: readFileSync(join(work, 'init', 'certificate.asc'), 'utf8') })).keyPacket;
    const sub = Object.assign(new PublicSubkeyPacket(), { version: 4, created: secret.keyPacket.created, algorithm: secret.keyPacket.algorithm, publicParams: (secret.keyPacket as unknown as { publicParams: unknown }).publicParams });
    await (sub as unknown as { computeFingerprintAndKeyID(): Promise<void> }).computeFingerprintAndKeyID();
    const back = Object.assign(new SignaturePacket(), { signatureType: enums.signature.keyBinding, publicKeyAlgorithm: secret.keyPacket.algorithm, hashAlgorithm: enums.hash.sha512 });
    await (back.sign as (...a: unknown[]) => Promise<void>).call(back, secret.keyPacket, { key: root, bind: sub }, new Date(), false, openpgpConfig);
    const list = new PacketList<AnyPacket>();
    list.push(root, sub, back);
    writeFileSync(join(work, 'weak-by-hand.req.asc'), armor(enums.armor.publicKey, list.write()));
    await refusedWith('BUILD_SUBKEY_WEAK', 'weak-by-hand.req.asc', 'out-weak');
  }, 120_000);

  it('a request for another root (BUILD_SUBKEY_WRONG_ROOT), through the renew CLI', () => {
    writeFileSync(join(work, 'other-root.asc'), buildServer.run(['--armor', '--export', keys.other]).stdout);
    expect(makeRequest(keys.next, 'wrong-root.req.asc', join(work, 'other-root.asc')).code).toBe(0);
    const before = state();
    const run = runCeremony(
      ['renew', '--config', 'config.json', '--out', 'out-wrong-root', '--record-dir', 'records', '--allow-network', '--share', 'init/shares/alice.share', '--share', 'init/shares/bob.share', '--build-subkey', 'wrong-root.req.asc'],
      { env: { ...hsm.env, CEREMONY_PIN: PIN }, cwd: work },
    );
    expectCleanError(run, 'BUILD_SUBKEY_WRONG_ROOT', 1);
    expect(state()).toEqual(before);
    expect(existsSync(join(work, 'out-wrong-root')) ? readdirSync(join(work, 'out-wrong-root')) : []).toEqual([]);
  }, 120_000);
});

describe("a renewal certifies the build server's subkey request", () => {
  it('binds both subkeys; transition.json names both; GnuPG and ceremony verify accept a build-server signature', async () => {
    const before = state();
    const result = await runRenew({ ...common('renewed'), shares: shares(), buildSubkey: { source: 'honest.req.asc', bytes: readFileSync(join(work, 'honest.req.asc')) } });
    expect(result.buildSubkeyFingerprint).toBe(keys.next);
    expect(state().set.setId).not.toBe(before.set.setId);
    const transition = JSON.parse(readFileSync(result.transitionPath, 'utf8')) as { newSubkey: { fingerprint: string; validUntil: string }; buildSubkey: { fingerprint: string; algorithm: string; validUntil: string } };
    expect(transition.newSubkey.fingerprint).toBe(result.subkeyFingerprint);
    expect(transition.buildSubkey).toMatchObject({ fingerprint: keys.next, algorithm: 'RSA-3072', validUntil: transition.newSubkey.validUntil });

    // The build server signs a release with gpg, using the key whose secret never left it.
    const dir = join(work, 'release');
    mkdirSync(dir);
    const file = join(dir, 'flatcar_production_update.gz');
    writeFileSync(file, 'next year\'s image\n');
    const digests = `${file}.DIGESTS`;
    writeFileSync(digests, ['md5', 'sha1', 'sha512'].map((a) => `# ${a.toUpperCase()} HASH\n${createHash(a).update(readFileSync(file)).digest('hex')}  ${basename(file)}\n`).join(''));
    for (const [f, args] of [[file, ['--detach-sign', '--output', `${file}.sig`]], [digests, ['--clearsign', '--output', `${digests}.asc`]]] as const) {
      const s = buildServer.run(['--local-user', `${keys.next}!`, '--digest-algo', 'SHA512', ...args, f]);
      expect(s.code, s.stderr).toBe(0);
    }

    // A verifier who has only the published certificate.
    const verifier = makeGpgHome();
    try {
      verifier.importKey(result.certificatePath);
      const v = verifier.verify(`${file}.sig`, file);
      expect(v.code, v.stderr).toBe(0);
      const validsig = v.status.find((l) => l.startsWith('VALIDSIG '))!.split(' ');
      expect(validsig[1]).toBe(keys.next);
      expect(validsig[10]).toBe(result.rootFingerprint); // primary key of the signing subkey: the root
    } finally {
      verifier.cleanup();
    }

    const run = runCeremony(['verify', '--trusted-key', result.certificatePath, file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`VERIFIED  ${file}`);

    // Next year, the same request again: the key is in the certificate now.
    await refusedWith('BUILD_SUBKEY_REUSED', 'honest.req.asc', 'out-again');
  }, 240_000);
});
