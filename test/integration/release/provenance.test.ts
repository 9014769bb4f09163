/**
 * The provenance check before signing (issue 15): in-toto Statement v1 + SLSA Provenance v1 in a DSSE envelope,
 * on real release files signed by a GnuPG stand-in build server, with real ed25519 / ECDSA P-256 / RSA keys.
 * Each refusal is asserted by its code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dsse } from '@sigstore/core';
import { verifyReleaseFiles } from '../../../ceremony/release/verify-release.js';
import { loadTrustedCertificates, type TrustedCertificate } from '../../../ceremony/openpgp/verify/certificate.js';
import { keyidOf, loadProvenancePolicy, type ProvenancePolicy } from '../../../ceremony/provenance/policy.js';
import { makeStandInBuilders, type StandInBuilders } from '../../helpers/builders.js';

let b: StandInBuilders;
let trusted: TrustedCertificate[];
const now = () => new Date(Date.now() + 1000);
type Pair = { publicKey: KeyObject; privateKey: KeyObject; hash: string | null; pem: string };
const pairs: Record<string, Pair> = {};

const BUILDER_ID = 'https://github.com/flatcar/scripts/.github/workflows/release.yml@refs/tags/stable-4152.2.0';
const BUILD_TYPE = 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1';
const REPO = 'https://github.com/flatcar/scripts';

function pair(name: string, kind: 'ed25519' | 'p256' | 'rsa'): Pair {
  const kp = kind === 'ed25519' ? generateKeyPairSync('ed25519') : kind === 'p256' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = join(b.dir, `${name}.pem`);
  writeFileSync(pem, kp.publicKey.export({ type: 'spki', format: 'pem' }));
  return { ...kp, hash: kind === 'ed25519' ? null : 'sha256', pem };
}

beforeAll(async () => {
  b = makeStandInBuilders([]);
  trusted = await loadTrustedCertificates([b.cert.server!], now());
  pairs.ed = pair('ed', 'ed25519');
  pairs.ec = pair('ec', 'p256');
  pairs.rsa = pair('rsa', 'rsa');
  pairs.rogue = pair('rogue', 'ed25519');
}, 60_000);
afterAll(() => b?.cleanup());

function policy(): ProvenancePolicy {
  return loadProvenancePolicy({
    keys: [pairs.ed!.pem, pairs.ec!.pem, pairs.rsa!.pem],
    builderIds: [BUILDER_ID],
    buildTypes: [BUILD_TYPE],
    source: { parameter: 'workflow', repository: REPO, refPattern: 'refs/tags/stable-[0-9.]+' },
    requiredDependencies: ['git+https://github.com/flatcar/portage-stable'],
    allowedExternalParameters: ['inputs'],
  });
}

function statement(sha256: string, over: { builderId?: string; ref?: string; extraParam?: boolean; deps?: boolean } = {}): object {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'image.bin', digest: { sha256 } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: { workflow: { repository: REPO, ref: over.ref ?? 'refs/tags/stable-4152.2.0', path: '.github/workflows/release.yml' }, inputs: { board: 'amd64-usr' }, ...(over.extraParam ? { debugShell: true } : {}) },
        resolvedDependencies: over.deps === false ? [] : [{ uri: 'git+https://github.com/flatcar/portage-stable@refs/heads/main', digest: { gitCommit: 'a'.repeat(40) } }],
      },
      runDetails: { builder: { id: over.builderId ?? BUILDER_ID }, metadata: { invocationId: 'run-1' } },
    },
  };
}

function envelope(payload: Buffer, signer: Pair, tamper?: (p: Buffer) => Buffer): string {
  const type = 'application/vnd.in-toto+json';
  const sig = nodeSign(signer.hash, dsse.preAuthEncoding(type, payload), signer.privateKey);
  const sent = tamper ? tamper(payload) : payload;
  return JSON.stringify({ payloadType: type, payload: sent.toString('base64'), signatures: [{ keyid: keyidOf(signer.publicKey), sig: sig.toString('base64') }] }) + '\n';
}

let n = 0;
function release(): { file: string; sha256: string } {
  const bytes = Buffer.from(`provenance release ${++n} ${'y'.repeat(500)}`);
  return { file: b.release(`image-${n}.bin`, bytes), sha256: createHash('sha256').update(bytes).digest('hex') };
}

async function verdict(file: string) {
  const [v] = await verifyReleaseFiles([file], { trusted, now: now(), provenance: policy() });
  return v!;
}

describe('provenance policy', () => {
  for (const k of ['ed', 'ec', 'rsa'] as const) {
    it(`accepts a valid statement in an envelope signed by a pinned ${k} key`, async () => {
      const r = release();
      writeFileSync(`${r.file}.intoto.jsonl`, envelope(Buffer.from(JSON.stringify(statement(r.sha256))), pairs[k]!));
      const v = await verdict(r.file);
      expect(v.status, v.reason ?? '').toBe('VERIFIED');
      expect(v.provenance).toMatchObject({ trustedBy: { kind: 'dsse-key', keyid: keyidOf(pairs[k]!.publicKey) }, builderId: BUILDER_ID, ref: 'refs/tags/stable-4152.2.0' });
    });
  }

  it('refuses a file without provenance', async () => {
    expect((await verdict(release().file)).code).toBe('PROVENANCE_MISSING');
  });

  it('refuses provenance for another artifact (wrong subject digest)', async () => {
    const r = release();
    writeFileSync(`${r.file}.intoto.jsonl`, envelope(Buffer.from(JSON.stringify(statement('0'.repeat(64)))), pairs.ed!));
    expect((await verdict(r.file)).code).toBe('PROVENANCE_SUBJECT_MISMATCH');
  });

  it('refuses a build by a builder.id the policy does not allow', async () => {
    const r = release();
    writeFileSync(`${r.file}.intoto.jsonl`, envelope(Buffer.from(JSON.stringify(statement(r.sha256, { builderId: 'https://evil.example/builder' }))), pairs.ed!));
    const v = await verdict(r.file);
    expect(v.code).toBe('PROVENANCE_BUILDER_NOT_ALLOWED');
    expect(v.reason).toContain('https://evil.example/builder');
  });

  it('refuses a build from a source ref outside the pattern (a branch, or the pattern as a substring)', async () => {
    for (const ref of ['refs/heads/main', 'refs/heads/x-refs/tags/stable-1.2']) {
      const r = release();
      writeFileSync(`${r.file}.intoto.jsonl`, envelope(Buffer.from(JSON.stringify(statement(r.sha256, { ref }))), pairs.ed!));
      expect((await verdict(r.file)).code).toBe('PROVENANCE_SOURCE_NOT_ALLOWED');
    }
  });

  it('refuses an unknown external parameter and a missing required dependency', async () => {
    const r = release();
    writeFileSync(`${r.file}.intoto.jsonl`, envelope(Buffer.from(JSON.stringify(statement(r.sha256, { extraParam: true }))), pairs.ed!));
    expect((await verdict(r.file)).code).toBe('PROVENANCE_PARAMETER_UNKNOWN');
    const r2 = release();
    writeFileSync(`${r2.file}.intoto.jsonl`, envelope(Buffer.from(JSON.stringify(statement(r2.sha256, { deps: false }))), pairs.ed!));
    expect((await verdict(r2.file)).code).toBe('PROVENANCE_DEPENDENCY_MISSING');
  });

  it('refuses a tampered DSSE payload (signed, then the builder.id rewritten)', async () => {
    const r = release();
    const payload = Buffer.from(JSON.stringify(statement(r.sha256, { builderId: 'https://evil.example/builder' })));
    writeFileSync(`${r.file}.intoto.jsonl`, envelope(payload, pairs.ec!, (p) => Buffer.from(p.toString().replace('https://evil.example/builder', BUILDER_ID))));
    expect((await verdict(r.file)).code).toBe('PROVENANCE_SIGNATURE_INVALID');
  });

  it('refuses an envelope signed by an unpinned key', async () => {
    const r = release();
    writeFileSync(`${r.file}.intoto.jsonl`, envelope(Buffer.from(JSON.stringify(statement(r.sha256))), pairs.rogue!));
    expect((await verdict(r.file)).code).toBe('PROVENANCE_UNTRUSTED');
  });

  it("accepts an unsigned statement the build server's signed DIGESTS lists, and refuses it once altered", async () => {
    const bytes = Buffer.from(`listed provenance ${'z'.repeat(300)}`);
    const name = 'listed.bin';
    const file = join(b.dir, name);
    writeFileSync(file, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const prov = JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: Buffer.from(JSON.stringify(statement(sha256))).toString('base64'), signatures: [] }) + '\n';
    writeFileSync(`${file}.intoto.jsonl`, prov);
    // the build server's DIGESTS lists the release file and its provenance
    const text = b.digestsOf(name, bytes).replace(/# SHA512 HASH\n/, `# SHA512 HASH\n${createHash('sha512').update(prov).digest('hex')}  ${name}.intoto.jsonl\n`).replace(/# MD5 HASH\n/, '# MD5 HASH\n');
    b.gpg(['--local-user', `${b.fpr.server}!`, '--detach-sign', '--output', `${file}.sig`, file]);
    writeFileSync(`${file}.DIGESTS`, text);
    b.gpg(['--local-user', `${b.fpr.server}!`, '--clearsign', '--output', `${file}.DIGESTS.asc`, `${file}.DIGESTS`]);
    const v = await verdict(file);
    expect(v.status, v.reason ?? '').toBe('VERIFIED');
    expect(v.provenance!.trustedBy.kind).toBe('signed-digests');
    writeFileSync(`${file}.intoto.jsonl`, prov.replace('\n', ' \n'));
    expect((await verdict(file)).code).toBe('PROVENANCE_UNTRUSTED');
  });
});
