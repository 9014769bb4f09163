/**
 * The app's inbox view of builder agreement (issue 15): from the core's real verification of a release file
 * against real GnuPG stand-in builders, each file carries every builder's state (agreed, disagreed with the
 * differing digest, missing with its code) and the K-of-N rule, as the CLI prints them.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { loadBuilderSet } from '../../../ceremony/release/builders.js';
import { verifyReleaseFiles } from '../../../ceremony/release/verify-release.js';
import { loadTrustedCertificates, type TrustedCertificate } from '../../../ceremony/openpgp/verify/certificate.js';
import { toInboxFile } from '../../../main/worker/inbox-view.js';
import { makeStandInBuilders, type StandInBuilders } from '../../helpers/builders.js';

let b: StandInBuilders;
let trusted: TrustedCertificate[];
const now = () => new Date(Date.now() + 1000);

beforeAll(async () => {
  b = makeStandInBuilders(['alpha', 'beta', 'gamma']);
  trusted = await loadTrustedCertificates([b.cert.server!], now());
}, 60_000);
afterAll(() => b?.cleanup());

async function scan(file: string, name: string) {
  const set = await loadBuilderSet({ threshold: 2, members: ['alpha', 'beta', 'gamma'].map((m) => ({ name: m, certificates: [b.cert[m]!] })) }, now());
  const [v] = await verifyReleaseFiles([file], { trusted, now: now(), builders: set });
  return toInboxFile(v!, name, 'release');
}

it('shows each builder as agreed (with its key) or missing (with its code), and the rule 2 of 3', async () => {
  const bytes = Buffer.from('release one');
  const file = b.release('one.bin', bytes);
  b.publishDigests(file, b.digestsOf('one.bin', bytes), 'alpha');
  b.publishDigests(file, b.digestsOf('one.bin', bytes), 'beta');
  const f = await scan(file, 'one.bin');
  expect(f.status).toBe('VERIFIED');
  expect(f.builders).toEqual({
    threshold: 2,
    total: 3,
    met: true,
    builders: [
      { name: 'alpha', state: 'agreed', keyFingerprint: b.fpr.alpha },
      { name: 'beta', state: 'agreed', keyFingerprint: b.fpr.beta },
      { name: 'gamma', state: 'missing', code: 'DIGEST_MISSING', reason: expect.stringContaining('gamma published no DIGESTS') },
    ],
  });
});

it('names the builder that disagreed with the digest it lists and the one the file has (compromised build server)', async () => {
  const bytes = Buffer.from('release two');
  const file = b.release('two.bin', bytes);
  const good = b.digestsOf('two.bin', bytes);
  const sha512 = createHash('sha512').update(bytes).digest('hex');
  const flipped = sha512.slice(0, -1) + (sha512.endsWith('0') ? '1' : '0');
  b.publishDigests(file, good, 'alpha');
  b.publishDigests(file, good, 'gamma');
  b.publishDigests(file, good.replace(sha512, flipped), 'beta');
  const f = await scan(file, 'two.bin');
  expect(f.status).toBe('REJECTED');
  expect(f.reason?.code).toBe('BUILDERS_DISAGREE');
  expect(f.builders?.met).toBe(false);
  expect(f.builders?.builders.find((x) => x.name === 'beta')).toEqual({ name: 'beta', state: 'disagreed', algorithm: 'sha512', listed: flipped, computed: sha512, keyFingerprint: b.fpr.beta });
  expect(f.builders?.builders.filter((x) => x.state === 'agreed').map((x) => x.name)).toEqual(['alpha', 'gamma']);
});

it('carries no builders view when the config has no builders rule', async () => {
  const bytes = Buffer.from('release three');
  const file = b.release('three.bin', bytes);
  const [v] = await verifyReleaseFiles([file], { trusted, now: now() });
  expect(toInboxFile(v!, 'three.bin', 'release').builders).toBeUndefined();
});
