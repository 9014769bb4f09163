import { afterAll, describe, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectCleanError, runCeremony, type CliRun } from '../../helpers/cli.js';
import { formatShare, formatShareWords, type Share } from '../../../ceremony/quorum/share.js';
import { newQuorumSecret } from '../../../ceremony/quorum/secret.js';
import { splitQuorumSecret } from '../../../ceremony/quorum/split.js';
import { descriptorToJson } from '../../../ceremony/quorum/descriptor.js';
import { encryptShareForCustodian } from '../../../ceremony/quorum/encrypt.js';
import { expectNoSecretIn } from '../../unit/quorum/leak.js';
import { makeGpgCustodian } from './gpg-custodian.js';

const FIVE = ['alice', 'bob', 'carol', 'dave', 'erin'];
const dir = mkdtempSync(join(tmpdir(), 'ceremony-shares-'));
const alice = makeGpgCustodian('Alice <alice@example.org>');
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  alice.cleanup();
});

const config = join(dir, 'config.json');
writeFileSync(
  config,
  JSON.stringify({
    hsm: { module: '/usr/lib/softhsm/libsofthsm2.so', rootToken: 'root', signingToken: 'signing' },
    identity: { name: 'Example Image Signing Key', email: 'security@example.org' },
    quorum: { threshold: 3, custodians: FIVE.map((name) => ({ name })) },
  }),
);

const secret = newQuorumSecret();
const { descriptor, shares } = await splitQuorumSecret(secret, { threshold: 3, custodians: FIVE });
const previous = await splitQuorumSecret(newQuorumSecret(), { threshold: 3, custodians: FIVE });
const secrets = [secret, ...shares.map((s) => s.data), ...previous.shares.map((s) => s.data)];

mkdirSync(join(dir, 'shares'));
mkdirSync(join(dir, 'old'));
const file = (s: Share, folder = 'shares') => join(dir, folder, `${s.custodian}.share`);
for (const s of shares) writeFileSync(file(s), formatShare(s));
for (const s of previous.shares) writeFileSync(file(s, 'old'), formatShare(s));
const descriptorFile = join(dir, 'descriptor.json');
writeFileSync(descriptorFile, descriptorToJson(descriptor));

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function check(...args: string[]): CliRun {
  const run = runCeremony(['shares', 'check', '--config', config, ...args]);
  expectNoSecretIn(run.stdout + run.stderr, secrets);
  return run;
}

describe('ceremony shares check', () => {
  test('three good shares: each is listed with custodian, index and set, the commitment is verified, exit 0', () => {
    const run = check('--share', file(shares[0]!), file(shares[2]!), file(shares[4]!));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^ok\s+alice\s+share 1 of 5\s+set [0-9a-f-]{19}/m);
    expect(run.stdout).toMatch(/^ok\s+erin\s+share 5 of 5/m);
    expect(run.stdout).toMatch(/^commitment verified/m);
    expect(run.stderr).toBe('');
  });

  test('--json gives one result document', () => {
    const run = runCeremony(['--json', 'shares', 'check', '--config', config, '--share', ...shares.map((s) => file(s)), '--descriptor', descriptorFile]);
    expect(run.code, run.stderr).toBe(0);
    const r = run.json<{ ok: boolean; commitment: string; setFrom: string; shares: { custodian: string; status: string }[] }>();
    expect(r).toMatchObject({ ok: true, commitment: 'verified', setFrom: 'descriptor' });
    expect(r.shares.map((s) => `${s.custodian}:${s.status}`)).toEqual(FIVE.map((n) => `${n}:ok`));
  });

  test('fewer than k shares: each is checked, the commitment is not, exit 0', () => {
    const run = check('--share', file(shares[1]!));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^commitment not checked: it needs 3 good shares/m);
  });

  test('shares typed as words are checked like text shares', () => {
    const w = write('bob.words', formatShareWords(shares[1]!));
    const run = check('--share', file(shares[0]!), w, file(shares[3]!));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^ok\s+bob\s+share 2 of 5/m);
  });

  test('typo attack: a mistyped character is named (SHARE_INVALID, exit 1)', () => {
    const text = formatShare(shares[1]!);
    const at = text.indexOf('Data: ') + 9;
    const typo = write('bob-typo.share', text.slice(0, at) + (text[at] === '0' ? '1' : '0') + text.slice(at + 1));
    const run = check('--share', file(shares[0]!), typo, file(shares[2]!));
    expectCleanError(run, 'SHARE_INVALID', 1);
    expect(run.stderr).toMatch(/^error\[SHARE_INVALID\]: the share of bob \(.*bob-typo\.share\) does not match its checksum/m);
    expect(run.stdout).toMatch(/^INVALID/m);
    expect(run.stdout).toMatch(/^ok\s+alice/m);
  });

  test('old-share attack: a share from a previous split is SHARE_FOREIGN (exit 1)', () => {
    const run = check('--share', file(shares[0]!), file(shares[1]!), file(previous.shares[2]!, 'old'));
    expectCleanError(run, 'SHARE_FOREIGN', 1);
    expect(run.stderr).toMatch(/carol/);
  });

  test('old-share attack against the descriptor: even a whole old set is SHARE_FOREIGN', () => {
    const run = check('--descriptor', descriptorFile, '--share', ...previous.shares.slice(0, 3).map((s) => file(s, 'old')));
    expectCleanError(run, 'SHARE_FOREIGN', 1);
    expect(run.stdout.match(/^FOREIGN/gm)).toHaveLength(3);
  });

  test('double-counting attack: a share given twice is SHARE_DUPLICATE (exit 1)', () => {
    const copy = write('alice-copy.share', formatShare(shares[0]!));
    const run = check('--share', file(shares[0]!), copy, file(shares[1]!));
    expectCleanError(run, 'SHARE_DUPLICATE', 1);
    expect(run.stderr).toMatch(/alice/);
  });

  test('forged-share attack: a share altered with a recomputed checksum fails the commitment (QUORUM_MISMATCH, exit 1)', () => {
    const forged = { ...shares[2]!, data: Buffer.from(shares[2]!.data) };
    forged.data[3] ^= 0x40;
    const f = write('carol-forged.share', formatShare(forged));
    const run = check('--share', file(shares[0]!), file(shares[1]!), f);
    expectCleanError(run, 'QUORUM_MISMATCH', 1);
    expect(run.stdout).toMatch(/^commitment MISMATCH/m);
  });

  test('forged-share attack with a spare share: the forged one is named as a misfit', () => {
    const forged = { ...shares[2]!, data: Buffer.from(shares[2]!.data) };
    forged.data[0] ^= 0x01;
    const f = write('carol-forged2.share', formatShare(forged));
    const run = check('--share', file(shares[0]!), file(shares[1]!), f, file(shares[3]!));
    expectCleanError(run, 'QUORUM_MISMATCH', 1);
    expect(run.stderr).toMatch(/carol.*forged or altered/);
    expect(run.stdout).toMatch(/^commitment verified/m);
  });

  test('an unreadable share is SHARE_MALFORMED (exit 2), and the others are still checked', () => {
    const junk = write('junk.share', 'this is not a share\n');
    const run = check('--share', file(shares[0]!), junk);
    expectCleanError(run, 'SHARE_MALFORMED', 2);
    expect(run.stdout).toMatch(/^ok\s+alice/m);
    expect(run.stdout).toMatch(/^MALFORMED\s+-\s+.*junk\.share/m);
  });

  test('encrypted shares are reported and skipped without a key, and checked with the custodian key', async () => {
    const enc = write('alice.share.asc', await encryptShareForCustodian(formatShare(shares[0]!), alice.publicKey));
    const skipped = check('--share', enc, file(shares[1]!));
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stdout).toMatch(/^encrypted\s+-\s+.*alice\.share\.asc/m);
    const run = check('--share', enc, file(shares[1]!), file(shares[2]!), '--private-key', write('alice.key', alice.privateKey), '--passphrase-file', alice.passphraseFile);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^ok\s+alice\s+share 1 of 5/m);
    expect(run.stdout).toMatch(/^commitment verified/m);
  });

  test('a config error names the field (CONFIG_INVALID, exit 2)', () => {
    const bad = write('bad-config.json', JSON.stringify({ hsm: { rootToken: 'root', signingToken: 'signing' }, identity: { name: 'x', email: 'a@b' }, quorum: { threshold: 6, custodians: FIVE.map((name) => ({ name })) } }));
    const run = runCeremony(['shares', 'check', '--config', bad, '--share', file(shares[0]!)]);
    expectCleanError(run, 'CONFIG_INVALID', 2);
    expect(run.stderr).toMatch(/quorum\.threshold/);
  });

  test('a missing share file is INPUT_UNREADABLE (exit 2)', () => {
    expectCleanError(check('--share', join(dir, 'nope.share')), 'INPUT_UNREADABLE', 2);
  });
});
