/**
 * The demo's steps, in the order `runDemo` takes them, each a function over one `DemoState`: the
 * operators initialize the signing token → the config, with alice's own OpenPGP key → init → alice
 * decrypts her share → the build server asks for its subkey → renew → the build server publishes a
 * release and the rebuilders reproduce it → the renewed keys are found on the token → sign → payload
 * sign → GnuPG's verdict → the auditor's review → what to try next.
 *
 * A step reads what earlier steps put in the state and adds what it makes; each says what it did, in
 * the words and order the demo has always printed them.
 */
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { randomBytes, createPublicKey } from 'node:crypto';
import * as openpgp from 'openpgp';
import { CeremonyError } from '../errors.js';
import { findFreeSlot, initializeToken, readTokenInfo, TokenSession } from '../hsm/token.js';
import { findKeys, publicKeyOf, publicKeyPem } from '../hsm/keys.js';
import { parsePkcs11Uri } from '../hsm/uri.js';
import { parseConfig } from '../config.js';
import { decryptShare } from '../quorum/index.js';
import { findOpenpgpKeys } from '../openpgp/hsm-store.js';
import { makeDemoBuildServer } from '../release/demo-build-server.js';
import { makeBuildSubkeyRequest } from '../openpgp/build/build-subkey-request.js';
import { makeDemoRebuilders } from '../release/demo-builders.js';
import { reviewRecord } from '../audit/review.js';
import { renderReport } from '../audit/report.js';
import { writeFileAtomic } from '../files.js';
import { runInit } from './init.js';
import { runRenew } from './renew.js';
import { runSignUpdate } from './sign-update.js';
import { runPayloadSign } from './payload-sign.js';
import { writeDemoPayload } from '../payload/demo-payload.js';
import { verifyPayload } from '../payload/index.js';
import type { CeremonyReporter } from './runner.js';
import { groupHex } from '../read-aloud.js';
import type { DemoResult, DemoState } from './demo-state.js';

/** openCryptoki's documented initial SO PIN of a software token (only ever used on the demo's throwaway slots). */
const OPENCRYPTOKI_FACTORY_SO_PIN = '87654321';

const CUSTODIANS = ['alice', 'bob', 'carol', 'dave', 'erin'];

const groups = groupHex;

/** What every ceremony of the demo is given: its record folder, the demo's environment, a reporter that says its steps. */
function common(s: DemoState, kind: string) {
  const { opts, say, env } = s;
  const reporter: CeremonyReporter = {
    step: (step, state, detail) => {
      if (state !== 'running') say(`${kind}:${step}`, `${state === 'done' ? 'ok' : state}: ${detail}`);
    },
    warn: (m) => say(`${kind}:warning`, m),
  };
  return {
    recordDir: s.records,
    // The demo runs wherever it is started, networked or not; the override is recorded in every record.
    allowNetwork: true,
    attended: false,
    env: env!,
    reporter,
    now: opts.now,
  };
}

/**
 * The maintainers' signing token, initialized beforehand by the operators (DESIGN §5). Its PIN lives
 * only in this process's memory: the ceremonies get it as CEREMONY_PIN in an environment of their own.
 */
export function initSigningToken(s: DemoState): void {
  const { mod, modulePath, dir, say } = s;
  const slot = findFreeSlot(mod);
  const limits = readTokenInfo(slot);
  const pinLength = Math.max(limits.minPinLen, Math.min(16, limits.maxPinLen));
  const maintainerPin = Buffer.from(randomBytes(24).toString('base64url').slice(0, pinLength));
  const soPin = Buffer.from(randomBytes(24).toString('base64url').slice(0, pinLength));
  // Some modules' fresh tokens already have an SO PIN (openCryptoki ships 87654321); SoftHSM takes any.
  let factorySo: Buffer | undefined;
  try {
    initializeToken(mod, slot, 'signing', soPin, maintainerPin);
  } catch (e) {
    if (!(e instanceof CeremonyError && e.ckr === 'CKR_PIN_INCORRECT')) throw e;
    factorySo = Buffer.from(OPENCRYPTOKI_FACTORY_SO_PIN);
    initializeToken(mod, findFreeSlot(mod), 'signing', soPin, maintainerPin, factorySo);
    say('demo', `the module's fresh tokens have openCryptoki's default SO PIN; the demo replaces it`);
  }
  // init takes the operators' SO PIN once and hands the signing token's SO PIN to the quorum (issue 10).
  s.env = { CEREMONY_PKCS11_MODULE: modulePath, CEREMONY_PIN: maintainerPin.toString(), CEREMONY_SO_PIN: soPin.toString(), ...(factorySo ? { CEREMONY_ROOT_SO_PIN: factorySo.toString() } : {}) };
  soPin.fill(0);
  // The demo's tokens are throwaway and meant to be tried after the demo (issue 13): the maintainer PIN
  // is left in a file only its owner can read, for --pin-file; a real signing PIN never is.
  const pinFile = join(dir, 'signing.pin');
  s.pinFile = pinFile;
  writeFileSync(pinFile, maintainerPin, { mode: 0o600 });
  say('demo', `operators initialized the signing token 'signing' (its throwaway maintainer PIN is in ${pinFile}, for trying the commands afterwards; init hands its SO PIN to the quorum)`);
  // A token whose longest PIN is under 64 bits (openCryptoki: 8 characters) is accepted here, and recorded.
  const acceptWeakPins = limits.maxPinLen * 6 < 64;
  s.acceptWeakPins = acceptWeakPins;
  s.weakOption = acceptWeakPins ? [{ name: 'accept-weak-pins' as const, value: true }] : [];
  if (acceptWeakPins) say('demo', `this module takes PINs of at most ${limits.maxPinLen} characters (${limits.maxPinLen * 6} bits derived): the demo accepts that with --accept-weak-pins, recorded in each record; a real ceremony needs a token with longer PINs`);
}

/** The config: 3-of-5 custodians; custodian alice keeps her share encrypted to her own OpenPGP key. */
export async function writeConfig(s: DemoState): Promise<void> {
  const { dir, modulePath, say } = s;
  const custodians = join(dir, 'custodians');
  mkdirSync(custodians);
  const alicePassphrase = randomBytes(12).toString('base64url');
  const alice = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'alice', email: 'alice@example.org' }], passphrase: alicePassphrase, format: 'armored' });
  s.alice = { privateKey: alice.privateKey, passphrase: alicePassphrase };
  writeFileSync(join(custodians, 'alice.asc'), alice.publicKey);
  const configPath = join(dir, 'ceremony.json');
  const configJson = {
    hsm: { module: modulePath, rootToken: 'root', signingToken: 'signing' },
    identity: { name: 'Demo Image Signing Key', email: 'security@demo.invalid' },
    quorum: { threshold: 3, custodians: CUSTODIANS.map((name) => (name === 'alice' ? { name, publicKey: 'custodians/alice.asc' } : { name })) },
    keys: { subkeyValidityDays: 365, overlapDays: 30, renewWindowDays: 60 },
    trustedBuildKeys: [],
  };
  writeFileSync(configPath, JSON.stringify(configJson, null, 2) + '\n');
  s.configPath = configPath;
  s.config = parseConfig(configJson, configPath);
  say('demo', `config ${configPath}: 3-of-5 custodians (${CUSTODIANS.join(', ')}); alice has an OpenPGP key`);
}

/** 1. Init: the root key, the first signing subkey and the shares handed out. */
export async function initRootAndShares(s: DemoState): Promise<void> {
  const { dir, say, acceptWeakPins, config, configPath } = s;
  const init = await runInit({ ...common(s, 'init'), acceptWeakPins, config: config!, outDir: join(dir, 'init'), recordedOptions: [{ name: 'config', value: configPath! }, { name: 'out', value: join(dir, 'init') }, { name: 'allow-network', value: true }, ...s.weakOption!] });
  say('init', `root ${groups(init.rootFingerprint)}; first signing subkey ${groups(init.subkeyFingerprint)}; ${init.shares.length} shares handed out`);
}

/** 2. A year later (here: now), three custodians renew. alice decrypts her share with her own key. */
export async function bringShares(s: DemoState): Promise<void> {
  const { dir, say } = s;
  const alice = s.alice!;
  s.aliceShare = await decryptShare(readFileSync(join(dir, 'init/shares/alice.share.asc'), 'utf8'), alice.privateKey, alice.passphrase, 'alice.share.asc');
  say('custodians', 'alice decrypted her share with her OpenPGP key; bob and carol bring theirs');
}

/**
 * The stand-in build server makes next year's signing key on its side; only its request comes to the
 * renewal, which certifies it as a subkey of the root (issue 15).
 */
export async function requestBuildSubkey(s: DemoState): Promise<void> {
  const { opts, dir, say } = s;
  const buildKey = (await openpgp.generateKey({ type: 'rsa', rsaBits: 3072, userIDs: [{ name: 'Demo Build Server (throwaway, not Flatcar)', email: 'build@demo.invalid' }], date: opts.now(), format: 'object' })).privateKey;
  s.buildKey = buildKey;
  const buildRequest = await makeBuildSubkeyRequest({ rootCertificate: readFileSync(join(dir, 'init/certificate.asc')), secretKey: buildKey.armor(), now: opts.now() });
  s.buildRequestArmored = buildRequest.armored;
  writeFileAtomic(join(dir, 'build-subkey-request.asc'), buildRequest.armored);
  say('build-server', `stand-in build server asks for its key ${groups(buildRequest.request.fingerprint)} (${buildRequest.request.algorithm}) to be certified: build-subkey-request.asc`);
}

/** The renewal with three shares: next year's subkey, the build server's subkey and a payload key. */
export async function renewWithQuorum(s: DemoState): Promise<void> {
  const { opts, dir, say, acceptWeakPins, config, configPath, aliceShare } = s;
  const renew = await runRenew({
    ...common(s, 'renew'),
    acceptWeakPins,
    buildSubkey: { source: 'build-subkey-request.asc', bytes: Buffer.from(s.buildRequestArmored!) },
    config: config!,
    outDir: join(dir, 'renew'),
    shares: [
      { source: 'alice.share (decrypted)', text: aliceShare! },
      { source: 'init/shares/bob.share', text: readFileSync(join(dir, 'init/shares/bob.share')) },
      { source: 'init/shares/carol.share', text: readFileSync(join(dir, 'init/shares/carol.share')) },
    ],
    newPayloadKey: `payload-${opts.now().getUTCFullYear() + 1}`,
    recordedOptions: [{ name: 'config', value: configPath! }, { name: 'out', value: join(dir, 'renew') }, { name: 'share', value: ['alice', 'bob', 'carol'] }, { name: 'build-subkey', value: 'build-subkey-request.asc' }, { name: 'allow-network', value: true }, ...s.weakOption!],
  });
  s.renew = renew;
  say('renew', `new subkey ${groups(renew.subkeyFingerprint)} and the build server's ${groups(renew.buildSubkeyFingerprint ?? '')} bound; transition.json signed by the root key; shares of the old set are now worthless`);
}

/** 3. The build server publishes a release (and an update payload) signed with its certified subkey. */
export async function publishRelease(s: DemoState): Promise<void> {
  const { opts, dir, say } = s;
  const inbox = join(dir, 'inbox');
  s.inbox = inbox;
  mkdirSync(inbox);
  const unsigned = join(inbox, 'flatcar_production_update.gz');
  s.unsigned = unsigned;
  writeDemoPayload(unsigned);
  const buildServer = await makeDemoBuildServer(inbox, { now: opts.now(), alsoSign: [basename(unsigned)], certified: { key: s.buildKey!, certificate: readFileSync(s.renew!.certificatePath, 'utf8') } });
  s.buildServer = buildServer;
  s.releaseFiles = buildServer.files.filter((f) => f !== unsigned);
  say('build-server', `stand-in build server signed ${buildServer.files.map((f) => basename(f)).join(', ')} with DIGESTS using its certified subkey ${groups(buildServer.signingSubkeyFingerprint)} (verifiers pin the root certificate alone)`);
}

/** Independent rebuilders (2 of 3 must agree) and SLSA provenance, checked in the sign step (issue 15). */
export async function rebuildRelease(s: DemoState): Promise<void> {
  const { opts, say } = s;
  const rebuilders = await makeDemoRebuilders(s.inbox!, s.releaseFiles!, opts.now());
  s.rebuilders = rebuilders;
  say('rebuilders', `${rebuilders.rule.members.map((m) => m.name).join(', ')}: ${rebuilders.rule.threshold} must agree; two published DIGESTS, one has not; provenance signed by a pinned ed25519 key`);
}

/** The renewed subkey's and the payload key's labels on the signing token; the payload key's public half for verifiers. */
export async function findRenewedKeys(s: DemoState): Promise<void> {
  const { opts, mod, dir } = s;
  const renew = s.renew!;
  const probe = TokenSession.open(mod, parsePkcs11Uri('pkcs11:token=signing'), false);
  try {
    const subkey = (await findOpenpgpKeys(probe, opts.now())).find((k) => k.openpgp.fingerprint === renew.subkeyFingerprint);
    if (!subkey) throw new CeremonyError('INTERNAL', 'the renewed subkey is not on the signing token');
    s.subkeyLabel = subkey.key.label;
    const payloadKeyLabel = findKeys(probe, { object: `payload-${opts.now().getUTCFullYear() + 1}`, type: 'public', extraPath: [], extraQuery: [] })[0]!.label;
    s.payloadKeyLabel = payloadKeyLabel;
    writeFileAtomic(join(dir, 'payload-key.pub.pem'), publicKeyPem(publicKeyOf(probe, findKeys(probe, { object: payloadKeyLabel, type: 'public', extraPath: [], extraQuery: [] })[0]!.handle)));
  } finally {
    probe.close();
  }
}

/** The maintainer signs the release with the new subkey, once the builders agree and the provenance holds. */
export async function signRelease(s: DemoState): Promise<void> {
  const { dir, say, subkeyLabel } = s;
  const buildServer = s.buildServer!;
  const rebuilders = s.rebuilders!;
  const signed = await runSignUpdate({
    ...common(s, 'sign'),
    files: s.releaseFiles!,
    trustedKeys: [buildServer.certificate],
    key: parsePkcs11Uri(`pkcs11:token=signing;object=${subkeyLabel}`),
    outDir: join(dir, 'signed'),
    armor: false,
    builders: rebuilders.rule,
    provenance: rebuilders.provenance,
    recordedOptions: [{ name: 'trusted-key', value: buildServer.certificate }, { name: 'key', value: `pkcs11:token=signing;object=${subkeyLabel}` }, { name: 'out-dir', value: join(dir, 'signed') }, { name: 'allow-network', value: true }],
  });
  s.signed = signed;
  say('sign', `${signed.signed.length} release file(s) signed with ${groups(signed.key.fingerprint)}; builders agreed: ${signed.verified.map((v) => `${basename(v.file)} ${v.agreement?.agreed.join('+')}`).join(', ')}`);
}

/** 4. An update payload, signed with the payload key the renewal made, and checked by update_engine's rule. */
export async function signPayload(s: DemoState): Promise<void> {
  const { dir, say, payloadKeyLabel } = s;
  const buildServer = s.buildServer!;
  const payloadOut = join(dir, 'signed', 'flatcar_production_update.signed');
  const payload = await runPayloadSign({
    ...common(s, 'payload'),
    input: s.unsigned!,
    output: payloadOut,
    keys: [parsePkcs11Uri(`pkcs11:token=signing;object=${payloadKeyLabel}`)],
    trustedKeys: [buildServer.certificate],
    recordedOptions: [{ name: 'key', value: [`pkcs11:token=signing;object=${payloadKeyLabel}`] }, { name: 'trusted-key', value: buildServer.certificate }, { name: 'out', value: payloadOut }, { name: 'allow-network', value: true }],
  });
  const check = await verifyPayload(payloadOut, [createPublicKey(readFileSync(join(dir, 'payload-key.pub.pem')))]);
  say('payload', `update payload signed (version-${check.signatures.at(-1)?.version ?? 2} signature) and accepted by update_engine's rule with payload-key.pub.pem; record ${basename(payload.record.dir)}`);
}

/** 5. GnuPG's verdict on the release signatures, with the renewed certificate alone. */
export function gnupgVerdict(s: DemoState): void {
  const { dir, say } = s;
  const signed = s.signed!;
  gnupgCheck(dir, join(dir, 'renew/certificate.asc'), signed.signed.map((f) => ({ file: f.input, signature: f.output })), say);
}

/** 6. The auditor reviews every record and writes its report; a record that is not intact stops the demo. */
export async function auditRecords(s: DemoState): Promise<void> {
  const { opts, dir, say, records } = s;
  const reports = join(dir, 'reports');
  mkdirSync(reports);
  const certificate = readFileSync(join(dir, 'renew/certificate.asc'), 'utf8');
  const out = s.reviewed;
  for (const name of readdirSync(records).sort()) {
    const review = await reviewRecord(join(records, name), { trustedCertificates: [certificate, readFileSync(join(dir, 'init/certificate.asc'), 'utf8')] });
    const report = join(reports, `${name}.html`);
    writeFileAtomic(report, renderReport(review, opts.now()));
    out.push({ dir: join(records, name), verdict: review.verdict, report });
    say('audit', `${name}: ${review.verdict} — ${review.summary}`);
    if (review.verdict !== 'intact') throw new CeremonyError('AUDIT_FAILED', `the demo's own record ${name} did not review as intact`);
  }
}

/** The demo is done: where everything is, and the commands to try next on its own tokens. */
export function finishDemo(s: DemoState): DemoResult {
  const { dir, say, records, softhsm, modulePath, pinFile, subkeyLabel, steps } = s;
  const out = s.reviewed;
  const buildServer = s.buildServer!;
  const releaseFiles = s.releaseFiles!;
  say('done', `everything the demo made is in ${dir}`);
  // The sign ceremony's own record (its folder name contains '-sign-', but so does a payload-sign record's).
  const signRecord = s.signed?.record.dir ?? records;
  const next = [
    `Try the commands on the demo's tokens (every path below is in ${dir}):`,
    softhsm ? `  export SOFTHSM2_CONF=${process.env.SOFTHSM2_CONF}` : `  export CEREMONY_PKCS11_MODULE=${modulePath}`,
    `  ceremony hsm keys --token 'pkcs11:token=signing' --pin-file ${pinFile}`,
    `  ceremony audit verify --trusted-key ${join(dir, 'renew/certificate.asc')} ${signRecord}`,
    `  ceremony sign --trusted-key ${buildServer.certificate} --key 'pkcs11:token=signing;object=${subkeyLabel}' \\`,
    `      --pin-file ${pinFile} --out-dir ${join(dir, 'signed-again')} ${releaseFiles.join(' ')}`,
    '  (add --allow-network on a machine with a network interface up; it is recorded)',
    "Then follow the README's quick start to make a signing token and key of your own in the same SoftHSM.",
  ];
  return { dir, records: out, steps, next };
}

/** `gpg --verify` in a throwaway home: the check any verifier can repeat with nothing but GnuPG. */
function gnupgCheck(dir: string, certificate: string, pairs: { file: string; signature: string }[], say: (n: string, d: string) => void): void {
  const probe = spawnSync('gpg', ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    say('gnupg', 'gpg is not installed: skipped the GnuPG check (install gnupg to see it)');
    return;
  }
  const home = mkdtempSync(join(dir, 'gnupg-'));
  try {
    const gpg = (args: string[]) => spawnSync('gpg', ['--homedir', home, '--batch', '--status-fd', '1', ...args], { encoding: 'utf8' });
    const imported = gpg(['--import', certificate]);
    if (imported.status !== 0) throw new CeremonyError('SELF_CHECK_FAILED', 'gpg could not import the renewed certificate');
    for (const p of pairs) {
      const r = gpg(['--verify', p.signature, p.file]);
      const valid = r.stdout.split('\n').find((l) => l.startsWith('[GNUPG:] VALIDSIG '));
      if (r.status !== 0 || !valid) throw new CeremonyError('SELF_CHECK_FAILED', `gpg does not accept ${basename(p.signature)}`);
      say('gnupg', `gpg --verify ${basename(p.signature)}: good signature by ${groups(valid.split(' ')[2]!)}`);
    }
  } finally {
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
    rmSync(home, { recursive: true, force: true });
  }
}
