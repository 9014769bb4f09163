/**
 * The guards of update_engine's check (ceremony/payload/verify.ts) that the signing tests do not reach (issue 16):
 * a payload that changes while it is hashed, a verification with no key at all, and a report that names the
 * signature update_engine checks and the ones it ignores. Reasons are asserted by the facts they carry (signature
 * numbers, versions, byte counts), not by their wording.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VECTORS } from '../../helpers/cli.js';
import { nodeSigner } from '../../helpers/node-signer.js';
import { inspectPayload, signPayload, verifyPayload } from '../../../ceremony/payload/index.js';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { makeUnsignedPayload } from './make-payload.js';

const CRAU = join(VECTORS, 'crau');
const SIGNED = join(CRAU, 'update.signed');
const UNSIGNED = join(CRAU, 'update.unsigned');
const DEV_PRIV = readFileSync(join(VECTORS, 'flatcar-keys/developer-v1.key.pem'), 'utf8');
const DEV_PUB = createPublicKey(readFileSync(join(VECTORS, 'flatcar-keys/developer-v1.pub.pem')));
const OFFICIAL_PUB = createPublicKey(readFileSync(join(VECTORS, 'flatcar-keys/official-v2.pub.pem')));

function keyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'payload-verify-guards-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('payload verification guards', () => {
  it('refuses to verify with no public key at all (an empty key list must not read as "no key refused it")', async () => {
    const e = await verifyPayload(SIGNED, []).catch((x: unknown) => x);
    expect(isCeremonyError(e, 'USAGE')).toBe(true);
    expect((e as Error).message).not.toBe('');
  });

  it('stops a payload truncated while it is being hashed (swapped under the reader)', async () => {
    const input = join(dir, 'big.unsigned');
    const out = join(dir, 'big.signed');
    makeUnsignedPayload(input, 9 * 1024 * 1024);
    await signPayload({ input, output: out, signers: [nodeSigner(DEV_PRIV, 'developer-v1')] });
    expect((await verifyPayload(out, [DEV_PUB])).ok).toBe(true);
    let cut = false;
    const onProgress = ({ bytes, total }: { bytes: number; total: number }) => {
      expect(bytes).toBeGreaterThan(0);
      expect(total).toBeGreaterThan(bytes);
      if (!cut) truncateSync(out, 1024 * 1024);
      cut = true;
    };
    const e = await verifyPayload(out, [DEV_PUB], { onProgress }).catch((x: unknown) => x);
    expect(isCeremonyError(e, 'PAYLOAD_MALFORMED')).toBe(true);
    expect((e as Error).message).toContain(out);
    expect(cut).toBe(true);
  });

  it('a payload cut short is refused as malformed, naming the file', async () => {
    const p = join(dir, 'cut');
    writeFileSync(p, readFileSync(SIGNED).subarray(0, 100));
    const e = await verifyPayload(p, [DEV_PUB]).catch((x: unknown) => x);
    expect(isCeremonyError(e, 'PAYLOAD_MALFORMED')).toBe(true);
    expect((e as Error).message).toContain(p);
  });

  it('reports hashing progress in bytes of the signed range', async () => {
    const seen: { bytes: number; total: number }[] = [];
    const v = await verifyPayload(SIGNED, [DEV_PUB], { onProgress: (p) => seen.push(p) });
    expect(seen.at(-1)).toEqual({ bytes: v.signedBytes, total: v.signedBytes });
  });

  it('an unsigned payload is refused with a reason that names the file', async () => {
    const e = await verifyPayload(UNSIGNED, [DEV_PUB]).catch((x: unknown) => x);
    expect(isCeremonyError(e, 'PAYLOAD_SIGNATURE_INVALID')).toBe(true);
    expect((e as Error).message).toContain(UNSIGNED);
  });

  it('a good payload: the reason names signature #1 and the signed byte count', async () => {
    const v = await verifyPayload(SIGNED, [DEV_PUB]);
    expect(v.reason).toContain('#1');
    expect(v.reason).toContain(String(v.signedBytes));
  });

  it('the refusal carries the whole report: every signature and the hash of the signed range', async () => {
    const e = await verifyPayload(SIGNED, [OFFICIAL_PUB]).catch((x: unknown) => x);
    expect(isCeremonyError(e, 'PAYLOAD_SIGNATURE_INVALID')).toBe(true);
    const v = await inspectPayload(SIGNED, [OFFICIAL_PUB]);
    expect(v.ok).toBe(false);
    expect((e as Error).message).toContain(SIGNED);
    expect((e as Error).message).toContain(v.reason);
    expect((e as { details?: unknown }).details).toEqual({ signatures: v.signatures, hash: v.hash.toString('hex') });
    expect(v.hash.toString('hex')).toBe(readFileSync(join(CRAU, 'update.hash')).toString('hex'));
    expect(v.reason).toContain('#1');
  });

  it('a version-2 signature by the wrong key is refused though an older signature verifies, and the report names only the one that does', async () => {
    // Three keys: versions 0, 1, 2 (update_engine checks the version-2 one, the third). Only key A is given:
    // signature #1 (version 0) verifies, #2 (version 1) does not, #3 (version 2, checked) does not.
    const a = keyPair();
    const out = join(dir, 'three.signed');
    await signPayload({ input: UNSIGNED, output: out, signers: [nodeSigner(a.privateKey, 'a'), nodeSigner(keyPair().privateKey, 'b'), nodeSigner(keyPair().privateKey, 'c')] });
    const v = await inspectPayload(out, [a.publicKey]);
    expect(v.ok).toBe(false);
    expect(v.signatures.map((s) => [s.index, s.version, s.verifiedBy, s.checkedByUpdateEngine])).toEqual([
      [0, 0, [0], false],
      [1, 1, [], false],
      [2, 2, [], true],
    ]);
    expect(v.reason).toContain('#3');
    expect(v.reason).toContain('#1 (version 0)');
    expect(v.reason).not.toContain('#2 (');
    expect(v.reason).not.toContain('#3 (');
    await expect(verifyPayload(out, [a.publicKey])).rejects.toSatisfy((e: unknown) => isCeremonyError(e, 'PAYLOAD_SIGNATURE_INVALID'));
  });

  it('a payload whose only signatures are older versions is refused, and the reason says none has version 2', async () => {
    // Two keys give versions 1 and 2; relabel the version-2 one to 3 so no signature has version 2.
    const out = join(dir, 'two.signed');
    await signPayload({ input: UNSIGNED, output: out, signers: [nodeSigner(DEV_PRIV, 'dev'), nodeSigner(keyPair().privateKey, 'other')] });
    const bytes = readFileSync(out);
    const v2 = await inspectPayload(out, [DEV_PUB]);
    expect(v2.signatures.map((s) => s.version)).toEqual([1, 2]);
    const at = bytes.lastIndexOf(Buffer.from([0x08, 0x02]));
    bytes[at + 1] = 0x03;
    const relabelled = join(dir, 'relabelled');
    writeFileSync(relabelled, bytes);
    const v = await inspectPayload(relabelled, [DEV_PUB]);
    expect(v.ok).toBe(false);
    expect(v.signatures.every((s) => !s.checkedByUpdateEngine)).toBe(true);
    // the reason counts the signatures it looked at (2) and names the version it wanted
    expect(v.reason).toMatch(/\b2\b.*version 2/);
    expect(v.hash.equals(v2.hash)).toBe(true);
  });
});
