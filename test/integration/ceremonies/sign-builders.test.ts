/**
 * The sign-update ceremony with a builders rule (issue 15), through the real binary on SoftHSM with GnuPG
 * stand-in builders: signed when K builders agree, refused (nothing written) naming a disagreeing builder,
 * and the record carries each file's agreement, which the auditor's review checks against the rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeSoftHsm, type SoftHsm } from '../../helpers/softhsm.js';
import { expectCleanError, runCeremony } from '../../helpers/cli.js';
import { makeStandInBuilders, type StandInBuilders } from '../../helpers/builders.js';
import { reviewRecord } from '../../../ceremony/audit/review.js';
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { dsse } from '@sigstore/core';
import { keyidOf } from '../../../ceremony/provenance/policy.js';

const BUILDER_ID = 'https://builders.invalid/release@v1';
const provenanceKey = generateKeyPairSync('ed25519');

/** FILE.intoto.jsonl: a SLSA v1 statement for FILE in a DSSE envelope signed by the pinned provenance key. */
function provenance(file: string, bytes: Buffer, ref = 'refs/tags/stable-1.2.3'): void {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: file.split('/').pop(), digest: { sha512: createHash('sha512').update(bytes).digest('hex') } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: { buildType: 'https://builders.invalid/type/v1', externalParameters: { source: { repository: 'https://github.com/flatcar/scripts', ref } } },
      runDetails: { builder: { id: BUILDER_ID } },
    },
  };
  const payload = Buffer.from(JSON.stringify(statement));
  const sig = nodeSign(null, dsse.preAuthEncoding('application/vnd.in-toto+json', payload), provenanceKey.privateKey);
  writeFileSync(`${file}.intoto.jsonl`, JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: payload.toString('base64'), signatures: [{ keyid: keyidOf(provenanceKey.publicKey), sig: sig.toString('base64') }] }));
}

const PIN = 'release-maintainer-7';
const KEY = 'pkcs11:token=signing;object=release-2026';
let hsm: SoftHsm;
let b: StandInBuilders;
let work: string;
let env: NodeJS.ProcessEnv;
let config: string;

beforeAll(() => {
  hsm = makeSoftHsm('ceremony-sign-builders-');
  hsm.initToken('signing', PIN);
  work = join(hsm.dir, 'work');
  mkdirSync(work);
  env = { ...hsm.env, CEREMONY_PIN: PIN };
  const gen = runCeremony(['key', 'generate', '--token', 'pkcs11:token=signing', '--label', 'release-2026', '--bits', '2048', '--valid-days', '365', '--openpgp-uid', 'Example Release Signing <release@example.org>'], { env });
  expect(gen.code, gen.stderr).toBe(0);
  const exp = runCeremony(['key', 'export', '--key', KEY, '--format', 'openpgp', '--out', join(work, 'release.asc')], { env });
  expect(exp.code, exp.stderr).toBe(0);
  b = makeStandInBuilders(['alpha', 'beta', 'gamma']);
  writeFileSync(join(work, 'provenance.pem'), provenanceKey.publicKey.export({ type: 'spki', format: 'pem' }));
  config = join(work, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      hsm: { rootToken: 'root', signingToken: 'signing' },
      identity: { name: 'Example', email: 'security@example.org' },
      quorum: { threshold: 2, custodians: [{ name: 'alice' }, { name: 'bob' }] },
      trustedBuildKeys: [b.cert.server],
      builders: { threshold: 2, members: ['alpha', 'beta', 'gamma'].map((m) => ({ name: m, certificates: [b.cert[m]] })) },
      provenance: {
        keys: ['provenance.pem'],
        builderIds: [BUILDER_ID],
        buildTypes: ['https://builders.invalid/type/v1'],
        source: { parameter: 'source', repository: 'https://github.com/flatcar/scripts', refPattern: 'refs/tags/stable-[0-9.]+' },
      },
    }),
  );
}, 120_000);

afterAll(() => {
  b?.cleanup();
  hsm?.cleanup();
});

function sign(out: string, file: string) {
  return runCeremony(['sign', '--config', config, '--key', KEY, '--out-dir', out, '--record-dir', join(work, 'records', out), '--allow-network', file], { env, cwd: work });
}

function onlyRecord(out: string): string {
  const dir = join(work, 'records', out);
  return join(dir, readdirSync(dir)[0]!);
}

function events(record: string): { step: string; result: string; agreement?: { agreed: string[]; disagreed: string[]; missing: string[] }; code?: string }[] {
  return readFileSync(join(record, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as never);
}

describe('ceremony sign with a builders rule', () => {
  it('signs a file two of three builders reproduced; the record carries the agreement and the review checks the rule', async () => {
    const bytes = Buffer.from('agreed image '.repeat(100));
    const file = b.release('agreed.bin', bytes);
    b.publishDigests(file, b.digestsOf('agreed.bin', bytes), 'alpha');
    b.publishDigests(file, b.digestsOf('agreed.bin', bytes), 'beta');
    provenance(file, bytes);
    const run = sign('ok', file);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/builders 2 of 3 agree, 2 required: met/);
    expect(run.stdout).toMatch(/gamma: missing \[DIGEST_MISSING\]/);
    expect(run.stdout).toContain(`builder ${BUILDER_ID}`);
    expect(existsSync(join(work, 'ok', 'agreed.bin.sig'))).toBe(true);
    const record = onlyRecord('ok');
    const log = events(record);
    expect(log[0]).toMatchObject({ parameters: { builders: { threshold: 2, members: [{ name: 'alpha', fingerprints: [b.fpr.alpha] }, { name: 'beta' }, { name: 'gamma' }] } } });
    const agreement = log.find((e) => e.step === 'builder-agreement')!;
    expect(agreement).toMatchObject({ result: 'ok', agreement: { agreed: ['alpha', 'beta'], disagreed: [], missing: ['gamma'] } });
    expect(log.findIndex((e) => e.step === 'builder-agreement')).toBeLessThan(log.findIndex((e) => e.step === 'sign'));
    expect(log.findIndex((e) => e.step === 'provenance-check')).toBeLessThan(log.findIndex((e) => e.step === 'sign'));
    const review = await reviewRecord(record, { trustedCertificates: [readFileSync(join(work, 'release.asc'), 'utf8')] });
    expect(review.policy.find((p) => p.name === 'builders-agreed-before-signing')).toMatchObject({ outcome: 'pass' });
    expect(review.policy.find((p) => p.name === 'provenance-checked-before-signing')).toMatchObject({ outcome: 'pass' });
    expect(log[0]).toMatchObject({ parameters: { provenance: { keyids: [keyidOf(provenanceKey.publicKey)], builderIds: [BUILDER_ID] } } });
    expect(review.verdict, JSON.stringify(review.findings)).toBe('intact');
  });

  it('refuses a file one builder disagrees on, names the builder and writes no signature', () => {
    const bytes = Buffer.from('contested image '.repeat(100));
    const file = b.release('contested.bin', bytes);
    const good = b.digestsOf('contested.bin', bytes);
    const sha1 = createHash('sha1').update(bytes).digest('hex');
    b.publishDigests(file, good, 'alpha');
    b.publishDigests(file, good, 'beta');
    b.publishDigests(file, good.replace(sha1, sha1.replace(/.$/, (c) => (c === 'f' ? 'e' : 'f'))), 'gamma');
    provenance(file, bytes);
    const run = sign('refused', file);
    expectCleanError(run, 'BUILDERS_DISAGREE', 1);
    expect(run.stderr).toContain('builder gamma lists SHA1');
    expect(existsSync(join(work, 'refused', 'contested.bin.sig'))).toBe(false);
    const log = events(onlyRecord('refused'));
    expect(log.find((e) => e.step === 'builder-agreement')).toMatchObject({ result: 'refused', code: 'BUILDERS_DISAGREE', agreement: { disagreed: ['gamma'] } });
    expect(log.some((e) => e.step === 'sign')).toBe(false);
  });

  it('refuses a file whose provenance names a branch outside the ref pattern, even with every builder agreeing', () => {
    const bytes = Buffer.from('branch build '.repeat(100));
    const file = b.release('branch.bin', bytes);
    for (const m of ['alpha', 'beta', 'gamma']) b.publishDigests(file, b.digestsOf('branch.bin', bytes), m);
    provenance(file, bytes, 'refs/heads/feature');
    const run = sign('branch', file);
    expectCleanError(run, 'PROVENANCE_SOURCE_NOT_ALLOWED', 1);
    expect(existsSync(join(work, 'branch', 'branch.bin.sig'))).toBe(false);
  });
});
