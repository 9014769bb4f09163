/**
 * The custodian ceremonies through the real `ceremony` binary on real SoftHSM tokens, checked with real
 * GnuPG (issue 5): init, every k-subset renews, no (k-1)-subset gets near the root token, named bad
 * shares, worthless old shares, changed custodian sets, and no secret anywhere on disk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { makeSoftHsm, TEST_SO_PIN, type SoftHsm } from '../../helpers/softhsm.js';
import { spawnSync } from 'node:child_process';
import { expectCleanError, runCeremony } from '../../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../../helpers/gpg.js';
import { scanForSecrets } from '../../helpers/secret-scan.js';
import { checkAirGap } from '../../../ceremony/airgap.js';
import { combineShareData, deriveQuorumPins, formatShare, parseShare } from '../../../ceremony/quorum/index.js';

const PIN = 'maintainer-pin-1';
const CUSTODIANS = ['alice', 'bob', 'carol', 'dave', 'erin'];
let hsm: SoftHsm;
let gpg: GpgHome;
let work: string;
let env: NodeJS.ProcessEnv;
let aliceDecrypted: string;

function writeConfig(file: string, custodians: { name: string; publicKey?: string }[], threshold: number): string {
  writeFileSync(
    file,
    JSON.stringify({
      hsm: { rootToken: 'root', signingToken: 'signing' },
      identity: { name: 'Example Image Signing Key', email: 'security@example.org' },
      quorum: { threshold, custodians },
      keys: { subkeyValidityDays: 365, overlapDays: 30, renewWindowDays: 60 },
      trustedBuildKeys: [],
    }),
  );
  return file;
}

function ceremony(args: string[]) {
  return runCeremony(args, { env, cwd: work });
}

function renew(out: string, shares: string[], config = 'config.json', extra: string[] = []) {
  return ceremony(['renew', '--config', config, '--out', out, '--record-dir', 'records', '--allow-network', ...shares.flatMap((s) => ['--share', s]), ...extra]);
}

/** The share file a custodian brings: alice's is decrypted with her own key first (as she would with gpg -d). */
function shareOf(dir: string, name: string): string {
  return name === 'alice' && dir === 'init' ? 'alice.decrypted.share' : `${dir}/shares/${name}.share`;
}

function tokenDigest(): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      // SoftHSM's token.object starts with an 8-byte generation counter that every login bumps (a refused
      // renewal logs in to the signing token only to seal its record); its PINs, flags and every object
      // must stay exactly as they were.
      else if (f === 'token.object') h.update(f).update(readFileSync(p).subarray(8));
      else if (!f.endsWith('.lock')) h.update(f).update(readFileSync(p));
    }
  };
  walk(join(hsm.dir, 'tokens'));
  return h.digest('hex');
}

function snapshotTokens(name: string): void {
  cpSync(join(hsm.dir, 'tokens'), join(work, name), { recursive: true });
}

function restoreTokens(name: string): void {
  rmSync(join(hsm.dir, 'tokens'), { recursive: true, force: true });
  cpSync(join(work, name), join(hsm.dir, 'tokens'), { recursive: true });
}

function subsets<T>(items: T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [first!, ...s]), ...subsets(rest, k)];
}

function lastRecord(kind: string): string {
  const dirs = readdirSync(join(work, 'records')).filter((d) => d.includes(`-${kind}-`)).sort();
  return join(work, 'records', dirs[dirs.length - 1]!);
}

/** Whether the token accepts `pin` as its SO PIN (pkcs11-tool, a PKCS#11 client independent of ours). */
function soLoginWorks(token: string, pin: string): boolean {
  const r = spawnSync('pkcs11-tool', ['--module', '/usr/lib/softhsm/libsofthsm2.so', '--token-label', token, '--session-rw', '--login', '--login-type', 'so', '--so-pin', pin, '--list-objects'], { env: hsm.env, encoding: 'utf8' });
  if (r.status !== 0 && !/CKR_PIN_INCORRECT/.test(r.stderr + r.stdout)) throw new Error(`pkcs11-tool failed otherwise: ${r.stderr}`);
  return r.status === 0;
}

/** SoftHSM takes PINs up to 255 characters: every derived PIN is the longest the tool makes (issue 10). */
const SOFTHSM_PINS = { alphabet: 'base64url', length: 64 } as const;
const SOFTHSM_FORMATS = { rootUser: SOFTHSM_PINS, rootSo: SOFTHSM_PINS, signingSo: SOFTHSM_PINS };

/** The quorum-held PINs of the set whose share files are given (k of them), as only k custodians could. */
async function pinsOf(files: string[]) {
  const shares = files.map((f) => parseShare(readFileSync(join(work, f)), f));
  const secret = await combineShareData(shares);
  return deriveQuorumPins(secret, shares[0]!.setId, SOFTHSM_FORMATS);
}

function steps(record: string): string[] {
  return readFileSync(join(record, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: string }).step);
}

beforeAll(() => {
  hsm = makeSoftHsm('ceremony-quorum-');
  hsm.initToken('signing', PIN);
  work = join(hsm.dir, 'work');
  mkdirSync(join(work, 'custodians'), { recursive: true });
  env = { ...hsm.env, CEREMONY_PIN: PIN };
  gpg = makeGpgHome();
  // alice keeps her share encrypted to her own OpenPGP key, made with real gpg
  const gen = gpg.run(['--passphrase', '', '--quick-gen-key', 'alice <alice@example.org>', 'rsa3072', 'encr', 'never']);
  expect(gen.code, gen.stderr).toBe(0);
  writeFileSync(join(work, 'custodians/alice.asc'), gpg.run(['--armor', '--export', 'alice@example.org']).stdout);
  writeConfig(join(work, 'config.json'), [{ name: 'alice', publicKey: 'custodians/alice.asc' }, ...CUSTODIANS.slice(1).map((name) => ({ name }))], 3);

  const init = ceremony(['init', '--config', 'config.json', '--out', 'init', '--record-dir', 'records', '--allow-network']);
  expect(init.code, init.stderr + init.stdout).toBe(0);
  snapshotTokens('tokens-after-init');
}, 180_000);

afterAll(() => {
  gpg?.cleanup();
  hsm?.cleanup();
});

describe('init', () => {
  it('hands out one share per custodian, alice\'s encrypted to her key, and gpg -d gives a share that parses', () => {
    expect(readdirSync(join(work, 'init/shares')).sort()).toEqual([
      'alice.handout.txt', 'alice.share.asc',
      'bob.handout.txt', 'bob.share', 'bob.share.words', 'carol.handout.txt', 'carol.share', 'carol.share.words',
      'dave.handout.txt', 'dave.share', 'dave.share.words', 'erin.handout.txt', 'erin.share', 'erin.share.words',
    ]);
    // Each hand-out note says what the share is, how to check and keep it, to wipe the plain file, and
    // holds no part of any share.
    const note = readFileSync(join(work, 'init/shares/bob.handout.txt'), 'utf8');
    expect(note).toMatch(/^QUORUM SHARE HAND-OUT FOR BOB\n/);
    for (const heading of ['What it is', 'How to check it', 'How to keep it', 'Wipe the plain file']) expect(note).toContain(heading);
    expect(note).toContain('ceremony shares check --config CONFIG.json --share shares/bob.share');
    const bobData = readFileSync(join(work, 'init/shares/bob.share'), 'utf8').match(/^Data:([\s\S]*?)\nChecksum/m)![1]!.replace(/\s+/g, '');
    for (let i = 0; i + 8 <= bobData.length; i += 8) expect(note.replace(/\s+/g, '')).not.toContain(bobData.slice(i, i + 8));
    const dec = gpg.run(['--decrypt', join(work, 'init/shares/alice.share.asc')]);
    expect(dec.code, dec.stderr).toBe(0);
    aliceDecrypted = dec.stdout;
    writeFileSync(join(work, 'alice.decrypted.share'), aliceDecrypted);
    expect(parseShare(aliceDecrypted, 'alice').custodian).toBe('alice');
    for (const name of CUSTODIANS.slice(1)) expect((statSync(join(work, `init/shares/${name}.share`)).mode & 0o077)).toBe(0);
  });

  it('exports a certificate gpg reads as the root primary and one signing subkey with an expiry', () => {
    const g = makeGpgHome();
    g.importKey(join(work, 'init/certificate.asc'));
    const rows = g.colons();
    g.cleanup();
    const pub = rows.filter((r) => r[0] === 'pub');
    const subs = rows.filter((r) => r[0] === 'sub');
    expect(pub).toHaveLength(1);
    // capabilities of the primary: certify (and sign, which GnuPG needs for the seal and transition statements)
    expect(pub[0]![11]).toContain('C');
    expect(subs).toHaveLength(1);
    expect(subs[0]![11]).toBe('s');
    expect(Number(subs[0]![6])).toBeGreaterThan(Date.now() / 1000 + 360 * 86_400);
    const fpr = rows.find((r) => r[0] === 'fpr')![9];
    expect(readFileSync(join(work, 'init/root.fingerprint'), 'utf8').trim()).toBe(fpr);
  });

  it("leaves no SO PIN that a person knows: the operator's old signing-token SO PIN is refused, the quorum's works", async () => {
    expect(soLoginWorks('signing', TEST_SO_PIN)).toBe(false);
    const pins = await pinsOf(['bob', 'carol', 'dave'].map((n) => `init/shares/${n}.share`));
    expect(soLoginWorks('signing', pins.signingSoPin.toString())).toBe(true);
    expect(soLoginWorks('root', pins.soPin.toString())).toBe(true);
    // distinct labels: no PIN doubles as another
    expect(new Set([pins.userPin, pins.soPin, pins.signingSoPin].map((p) => p.toString())).size).toBe(3);
  });

  it('leaves a sealed record that `ceremony audit verify` accepts and gpg verifies', () => {
    const record = lastRecord('init');
    gpg.importKey(join(work, 'init/certificate.asc'));
    expect(ceremony(['audit', 'verify', record, '--trusted-key', 'init/certificate.asc']).code).toBe(0);
    const v = gpg.verify(join(record, 'log.jsonl.asc'), join(record, 'log.jsonl'));
    expect(v.code, v.stderr).toBe(0);
    expect(v.status.some((s) => s.startsWith('VALIDSIG'))).toBe(true);
  });

  it('refuses to run twice on the same HSM', () => {
    expectCleanError(ceremony(['init', '--config', 'config.json', '--out', 'init-again', '--record-dir', 'records', '--allow-network']), 'USAGE', 2);
  });

  it('refuses on a networked machine without --allow-network, before anything is made', () => {
    const before = tokenDigest();
    const run = ceremony(['renew', '--config', 'config.json', '--out', 'nonet', '--record-dir', 'records-nonet', ...['init/shares/bob.share', 'init/shares/carol.share', 'init/shares/dave.share'].flatMap((s) => ['--share', s])]);
    if (!checkAirGap().airGapped) {
      expectCleanError(run, 'NETWORK_UP', 1);
      expect(existsSync(join(work, 'records-nonet'))).toBe(false);
      expect(tokenDigest()).toBe(before);
    } else {
      // an air-gapped machine passes the check and renews (the unit test covers the refusal there)
      expect(run.code, run.stderr).toBe(0);
    }
    restoreTokens('tokens-after-init');
  });
});

describe('renew: the quorum', () => {
  it('refuses every 2 of 5 shares before any login, and changes nothing', () => {
    const before = tokenDigest();
    for (const pair of subsets(CUSTODIANS, 2)) {
      const run = renew(`out-${pair.join('-')}`, pair.map((n) => shareOf('init', n)));
      expectCleanError(run, 'QUORUM_NOT_MET', 1);
      const logged = steps(lastRecord('renew'));
      expect(logged).not.toContain('root-login');
      expect(logged).not.toContain('derive-pins');
      expect(existsSync(join(work, `out-${pair.join('-')}/certificate.asc`))).toBe(false);
    }
    expect(tokenDigest()).toBe(before);
  });

  it('renews with every 3 of 5 shares', () => {
    const subs = subsets(CUSTODIANS, 3);
    expect(subs).toHaveLength(10);
    for (const trio of subs) {
      restoreTokens('tokens-after-init');
      const out = `renew-${trio.join('-')}`;
      const run = renew(out, trio.map((n) => shareOf('init', n)));
      expect(run.code, `${trio.join(',')}: ${run.stderr}`).toBe(0);
      expect(existsSync(join(work, out, 'certificate.asc'))).toBe(true);
    }
    restoreTokens('tokens-after-init');
  }, 300_000);

  it('names a share with a mistyped character, and still renews with three good ones', () => {
    const text = readFileSync(join(work, 'init/shares/bob.share'), 'utf8');
    const data = text.indexOf('Data: ') + 6;
    const typo = text.slice(0, data) + (text[data] === 'a' ? 'b' : 'a') + text.slice(data + 1);
    writeFileSync(join(work, 'bob-typo.share'), typo);
    const short = renew('out-typo-short', ['bob-typo.share', shareOf('init', 'carol'), shareOf('init', 'dave')]);
    expectCleanError(short, 'QUORUM_NOT_MET', 1);
    expect(short.stdout).toMatch(/share-refused\] refused: .*bob.*checksum/i);

    const ok = renew('out-typo', ['bob-typo.share', shareOf('init', 'carol'), shareOf('init', 'dave'), shareOf('init', 'erin')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/share-refused\] refused: .*bob/);
    restoreTokens('tokens-after-init');
  }, 120_000);

  it('refuses a duplicated share, naming the custodian', () => {
    const run = renew('out-dup', [shareOf('init', 'bob'), shareOf('init', 'bob'), shareOf('init', 'carol')]);
    expectCleanError(run, 'QUORUM_NOT_MET', 1);
    expect(run.stdout).toMatch(/share-refused\] refused: .*bob.*already presented/);
  });

  it('refuses a forged share that carries a valid checksum (caught by the commitment), before any login', () => {
    // A custodian who wants to block or subvert the renewal makes up share data and recomputes the checksum.
    const share = parseShare(readFileSync(join(work, 'init/shares/dave.share')), 'dave');
    share.data[0]! ^= 0xff;
    writeFileSync(join(work, 'dave-forged.share'), formatShare(share));
    const run = renew('out-forged', [shareOf('init', 'bob'), 'dave-forged.share', shareOf('init', 'carol')]);
    expectCleanError(run, 'QUORUM_MISMATCH', 1);
    expect(steps(lastRecord('renew'))).not.toContain('root-login');
  });
});

describe('renew: the outcome', () => {
  let renewed: string;
  let renewOutput: string;

  beforeAll(() => {
    restoreTokens('tokens-after-init');
    renewed = 'renewed';
    const run = renew(renewed, ['alice.decrypted.share', shareOf('init', 'carol'), shareOf('init', 'erin')], 'config.json', ['--new-payload-key', 'payload-2027']);
    expect(run.code, run.stderr).toBe(0);
    renewOutput = run.stdout;
  }, 120_000);

  it('hsm keys names each key\'s role, OpenPGP fingerprint and --key URI, and the renew summary prints the URI to use next', () => {
    type Listed = { label: string; role: string; sealKey: boolean; fingerprint?: string; keyUri: string; state: string; missing: string[] };
    const signing = ceremony(['--json', 'hsm', 'keys', '--token', 'pkcs11:token=signing']);
    expect(signing.code, signing.stderr).toBe(0);
    const keys = signing.json<{ listing: Listed[] }>().listing;
    const renewedSubkey = JSON.parse(readFileSync(join(work, renewed, 'transition.json'), 'utf8')).newSubkey.fingerprint as string;
    const current = keys.filter((k) => k.role === 'current signing subkey');
    expect(current.map((k) => k.fingerprint)).toEqual([renewedSubkey]);
    expect(current[0]!.sealKey).toBe(true);
    expect(keys.filter((k) => k.role === 'superseded signing subkey')).toHaveLength(1);
    expect(keys.find((k) => k.label === 'payload-2027')).toMatchObject({ role: 'payload', keyUri: 'pkcs11:token=signing;object=payload-2027' });
    expect(keys.every((k) => k.state === 'authenticated' && k.missing.length === 0)).toBe(true);
    expect(renewOutput).toContain(`sign releases with --key '${current[0]!.keyUri}'`);
    expect(renewOutput).toContain("sign payloads with --key 'pkcs11:token=signing;object=payload-2027'");
    // without a PIN the root token still shows its key and role, unchecked, and says so
    const root = runCeremony(['--json', 'hsm', 'keys', '--token', 'pkcs11:token=root'], { env: { ...hsm.env, CEREMONY_PIN: undefined }, cwd: work });
    expect(root.code, root.stderr).toBe(0);
    const rootKey = root.json<{ listing: Listed[] }>().listing.find((k) => k.label === 'root-key')!;
    expect(rootKey).toMatchObject({ role: 'root', fingerprint: readFileSync(join(work, 'init/root.fingerprint'), 'utf8').trim(), state: 'unchecked' });
    // the human form reads as the JSON does
    const text = ceremony(['hsm', 'keys', '--token', 'pkcs11:token=signing']);
    expect(text.stdout).toMatch(/current signing subkey, default seal key {2}RSA-4096/);
    expect(text.stdout).toMatch(/protections locked, sign-only, RSA-PKCS only, leaves the token only wrapped under an SO-trusted key/);
  });

  it("rotates the signing token's SO PIN with the root PINs: the old set's is refused, the new set's works", async () => {
    const old = await pinsOf(['bob', 'carol', 'dave'].map((n) => `init/shares/${n}.share`));
    const fresh = await pinsOf(['bob', 'carol', 'dave'].map((n) => `${renewed}/shares/${n}.share`));
    expect(soLoginWorks('signing', old.signingSoPin.toString())).toBe(false);
    expect(soLoginWorks('root', old.soPin.toString())).toBe(false);
    expect(soLoginWorks('signing', fresh.signingSoPin.toString())).toBe(true);
    expect(soLoginWorks('root', fresh.soPin.toString())).toBe(true);
  });

  it('shares check without the HSM says the set in force is unknown; with the exported set it refuses superseded shares as foreign', () => {
    const old = ['bob', 'carol', 'dave'].map((n) => `init/shares/${n}.share`);
    const offline = ceremony(['shares', 'check', '--config', 'config.json', ...old.flatMap((f) => ['--share', f])]);
    expect(offline.code, offline.stderr).toBe(0); // they are a consistent set: only the token knows it is superseded
    expect(offline.stdout).toMatch(/in force\s+UNKNOWN without the HSM/);
    expect(offline.stdout).toMatch(/whether it is in force is not known/);

    const exported = ceremony(['hsm', 'quorum-set', '--token', 'pkcs11:token=root', '--out', 'set-in-force.json']);
    expect(exported.code, exported.stderr).toBe(0);
    const fpr = readFileSync(join(work, 'init/root.fingerprint'), 'utf8').trim();
    const refused = ceremony(['shares', 'check', '--config', 'config.json', '--descriptor', 'set-in-force.json', '--root-fingerprint', fpr, ...old.flatMap((f) => ['--share', f])]);
    expectCleanError(refused, 'SHARE_FOREIGN', 1);
    const current = ['bob', 'carol', 'dave'].map((n) => `${renewed}/shares/${n}.share`);
    const ok = ceremony(['shares', 'check', '--config', 'config.json', '--descriptor', 'set-in-force.json', '--root-fingerprint', fpr, ...current.flatMap((f) => ['--share', f])]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/is the set in force on the root token, signed by root key/);

    // an export edited to name the old set no longer carries the root key's signature
    const text = readFileSync(join(work, 'set-in-force.json'), 'utf8');
    const oldSet = parseShare(readFileSync(join(work, old[0]!)), 'bob').setId;
    const newSet = parseShare(readFileSync(join(work, current[0]!)), 'bob').setId;
    writeFileSync(join(work, 'set-edited.json'), text.split(newSet).join(oldSet));
    expectCleanError(ceremony(['shares', 'check', '--config', 'config.json', '--descriptor', 'set-edited.json', ...old.flatMap((f) => ['--share', f])]), 'REJECTED', 1);
    // and a pin on another root key refuses the genuine export
    expectCleanError(ceremony(['shares', 'check', '--config', 'config.json', '--descriptor', 'set-in-force.json', '--root-fingerprint', '0'.repeat(40), ...current.flatMap((f) => ['--share', f])]), 'REJECTED', 1);
  });

  it('gpg sees two signing subkeys, each with an expiry, and the root-signed transition statement verifies', () => {
    const g = makeGpgHome();
    try {
      g.importKey(join(work, renewed, 'certificate.asc'));
      const subs = g.colons().filter((r) => r[0] === 'sub');
      expect(subs).toHaveLength(2);
      expect(subs.every((s) => s[11] === 's' && Number(s[6]) > 0)).toBe(true);
      const v = g.verify(join(work, renewed, 'transition.json.asc'), join(work, renewed, 'transition.json'));
      expect(v.code, v.stderr).toBe(0);
      const rootFpr = g.colons().find((r) => r[0] === 'fpr')![9];
      expect(v.status.find((s) => s.startsWith('VALIDSIG'))!.split(' ')[1]).toBe(rootFpr);
      const transition = JSON.parse(readFileSync(join(work, renewed, 'transition.json'), 'utf8'));
      expect(transition.previousSubkeys).toHaveLength(1);
      expect(transition.newPayloadKey.label).toBe('payload-2027');
    } finally {
      g.cleanup();
    }
  });

  it('makes every share from before worthless (SHARE_FOREIGN)', () => {
    const run = renew('out-old', CUSTODIANS.slice(1, 4).map((n) => shareOf('init', n)));
    expectCleanError(run, 'QUORUM_NOT_MET', 1);
    expect(run.stdout.match(/another split/g)?.length).toBe(3);
  });

  it('changes the custodian set and threshold at the next renewal, and the new set works', () => {
    writeConfig(join(work, 'config-2of4.json'), ['alice', 'bob', 'carol', 'frank'].map((name) => ({ name })), 2);
    const second = renew('second', ['bob', 'dave', 'erin'].map((n) => `${renewed}/shares/${n}.share`), 'config-2of4.json');
    expect(second.code, second.stderr).toBe(0);
    expect(readdirSync(join(work, 'second/shares')).filter((f) => f.endsWith('.share')).sort()).toEqual(['alice.share', 'bob.share', 'carol.share', 'frank.share']);
    const share = parseShare(readFileSync(join(work, 'second/shares/frank.share')), 'frank');
    expect([share.threshold, share.total]).toEqual([2, 4]);
    // two shares are now enough; the removed custodians' old shares are not
    const third = renew('third', ['frank', 'alice'].map((n) => `second/shares/${n}.share`), 'config-2of4.json');
    expect(third.code, third.stderr).toBe(0);
    const g = makeGpgHome();
    try {
      g.importKey(join(work, 'third/certificate.asc'));
      expect(g.colons().filter((r) => r[0] === 'sub')).toHaveLength(4);
    } finally {
      g.cleanup();
    }
  }, 180_000);

  it('leaves no PIN or quorum secret anywhere, and no share outside its own share file', async () => {
    // The test recombines the shares it was handed, as only k custodians could, to know what to look for.
    const pinsAndSecrets: Buffer[] = [];
    const shareBytes: Buffer[] = [];
    for (const dir of ['init', renewed, 'second', 'third']) {
      const files = readdirSync(join(work, dir, 'shares')).filter((f) => f.endsWith('.share'));
      const shares = files.map((f) => parseShare(readFileSync(join(work, dir, 'shares', f)), f));
      if (dir === 'init') shares.unshift(parseShare(aliceDecrypted, 'alice'));
      const secret = await combineShareData(shares.slice(0, shares[0]!.threshold));
      const pins = deriveQuorumPins(secret, shares[0]!.setId, SOFTHSM_FORMATS);
      pinsAndSecrets.push(secret, pins.userPin, pins.soPin, pins.signingSoPin);
      for (const sh of shares) shareBytes.push(Buffer.from(sh.data));
    }
    const dirs = [work, join(hsm.dir, 'tokens')];
    const secretScan = scanForSecrets(dirs, pinsAndSecrets);
    expect(secretScan.filesScanned).toBeGreaterThan(50);
    expect(secretScan.hits).toEqual([]);
    // share bytes belong in the share files handed to custodians (and the copies this test made), nowhere else
    const own = (file: string) => /\/shares\/[a-z]+\.share(\.words)?$/.test(file) || /(alice\.decrypted|-typo|-forged)\.share$/.test(file);
    expect(scanForSecrets(dirs, shareBytes).hits.filter((h) => !own(h.file))).toEqual([]);
  }, 120_000);
});
