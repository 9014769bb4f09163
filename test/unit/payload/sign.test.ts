import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VECTORS } from '../../helpers/cli.js';
import { nodeSigner } from '../../helpers/node-signer.js';
import type { DigestSigner } from '../../../ceremony/signer.js';
import { CeremonyError } from '../../../ceremony/errors.js';
import {
  decodeSignatures,
  parsePayloadBytes,
  preparePayload,
  signPayload,
  verifyPayload,
  inspectPayload,
} from '../../../ceremony/payload/index.js';
import { makeUnsignedPayload } from './make-payload.js';
import { swapOnRead } from '../../helpers/swapping-source.js';
import { ManifestType } from '../../../ceremony/payload/schema.js';

const CRAU = join(VECTORS, 'crau');
const UNSIGNED = join(CRAU, 'update.unsigned');
const DEV_PRIV = readFileSync(join(VECTORS, 'flatcar-keys/developer-v1.key.pem'), 'utf8');
const DEV_PUB = createPublicKey(readFileSync(join(VECTORS, 'flatcar-keys/developer-v1.pub.pem')));
const OFFICIAL_PUB = createPublicKey(readFileSync(join(VECTORS, 'flatcar-keys/official-v2.pub.pem')));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

function throwaway(bits: number, name: string): DigestSigner {
  return nodeSigner(generateKeyPairSync('rsa', { modulusLength: bits }).privateKey, name);
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'payload-sign-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('signing is byte-identical to delta_generator', () => {
  it('signs update.unsigned into exactly update.signed, over exactly update.hash', async () => {
    const out = join(dir, 'update.signed');
    const r = await signPayload({ input: UNSIGNED, output: out, signers: [nodeSigner(DEV_PRIV, 'developer-v1')] });
    expect(readFileSync(out).equals(readFileSync(join(CRAU, 'update.signed')))).toBe(true);
    expect(r.signedHash.equals(readFileSync(join(CRAU, 'update.hash')))).toBe(true);
    expect(r.inputSha256.equals(sha256(readFileSync(UNSIGNED)))).toBe(true);
    expect(r.outputSha256.equals(sha256(readFileSync(out)))).toBe(true);
    expect(r).toMatchObject({ signaturesOffset: 13423, signaturesSize: 264, signatures: [{ version: 2, key: 'developer-v1', bytes: 256 }] });
    expect(readdirSync(dir)).toEqual(['update.signed']);
  });

  it('lets a ceremony hash once and insert the signature later (the delta_generator two-step)', async () => {
    const out = join(dir, 'update.signed');
    const draft = await preparePayload({ input: UNSIGNED, output: out, signatureSizes: [256] });
    expect(draft.hash.equals(readFileSync(join(CRAU, 'update.hash')))).toBe(true);
    expect(existsSync(out)).toBe(false);
    await draft.commit([readFileSync(join(CRAU, 'update.sig.1'))]);
    expect(readFileSync(out).equals(readFileSync(join(CRAU, 'update.signed')))).toBe(true);
    expect(readdirSync(dir)).toEqual(['update.signed']);
  });

  it('reports progress up to the whole input size', async () => {
    const seen: number[] = [];
    await signPayload({ input: UNSIGNED, output: join(dir, 'o'), signers: [nodeSigner(DEV_PRIV)], onProgress: (p) => seen.push(p.bytes) });
    expect(seen.at(-1)).toBe(readFileSync(UNSIGNED).length);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });

  // tmpfs refused O_DIRECT before Linux 6.6 and takes it since; output-file.test.ts forces the buffered
  // path on any kernel. This one keeps what holds everywhere: another filesystem, the same bytes.
  it('writes the same bytes on disk and on tmpfs (/dev/shm)', async () => {
    const input = join(dir, 'mid.unsigned');
    makeUnsignedPayload(input, 9 * 1024 * 1024 + 4097);
    const shm = mkdtempSync('/dev/shm/payload-sign-');
    try {
      const a = await signPayload({ input, output: join(dir, 'a.signed'), signers: [nodeSigner(DEV_PRIV)] });
      const b = await signPayload({ input, output: join(shm, 'b.signed'), signers: [nodeSigner(DEV_PRIV)] });
      expect(readFileSync(join(dir, 'a.signed')).equals(readFileSync(join(shm, 'b.signed')))).toBe(true);
      expect(a.outputSha256.equals(b.outputSha256)).toBe(true);
      expect(readdirSync(shm)).toEqual(['b.signed']);
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });

  it('signs a payload smaller than one disk block to exactly its size (the O_DIRECT probe leaves nothing behind)', async () => {
    const header = Buffer.alloc(20);
    header.write('CrAU', 0, 'ascii');
    header.writeBigUInt64BE(1n, 4);
    const input = join(dir, 'tiny.unsigned');
    writeFileSync(input, header); // an empty manifest and no blobs
    const out = join(dir, 'tiny.signed');
    const r = await signPayload({ input, output: out, signers: [nodeSigner(DEV_PRIV)] });
    const bytes = readFileSync(out);
    expect(bytes.length).toBe(r.size);
    expect(bytes.length).toBeLessThan(4096);
    expect(parsePayloadBytes(bytes).signatures).toEqual({ offset: 0, size: 264 });
    await verifyPayload(out, [DEV_PUB]);
  });

  it('handles a manifest larger than several write stages', async () => {
    const ops = Array.from({ length: 100_000 }, (_, i) => ({ type: 0, data_offset: i, data_length: 1, data_sha256_hash: Buffer.alloc(32, i & 0xff) }));
    const manifest = Buffer.from(ManifestType.encode({ partition_operations: ops, block_size: 4096 }).finish());
    expect(manifest.length).toBeGreaterThan(4 * 1024 * 1024);
    const header = Buffer.alloc(20);
    header.write('CrAU', 0, 'ascii');
    header.writeBigUInt64BE(1n, 4);
    header.writeBigUInt64BE(BigInt(manifest.length), 12);
    const input = join(dir, 'wide.unsigned');
    writeFileSync(input, Buffer.concat([header, manifest, Buffer.alloc(100_000, 7)]));
    const out = join(dir, 'wide.signed');
    const r = await signPayload({ input, output: out, signers: [nodeSigner(DEV_PRIV)] });
    const bytes = readFileSync(out);
    const meta = parsePayloadBytes(bytes);
    expect(meta.manifest.partition_operations).toHaveLength(100_000);
    expect(bytes.subarray(meta.metadataSize, meta.metadataSize + 100_000).equals(Buffer.alloc(100_000, 7))).toBe(true);
    expect(r.outputSha256.equals(sha256(bytes))).toBe(true);
    await verifyPayload(out, [DEV_PUB]);
  });

  it('streams a multi-chunk payload and verifies it', async () => {
    const input = join(dir, 'big.unsigned');
    makeUnsignedPayload(input, 13 * 1024 * 1024 + 123);
    const out = join(dir, 'big.signed');
    const r = await signPayload({ input, output: out, signers: [nodeSigner(DEV_PRIV)] });
    expect(r.inputSha256.equals(sha256(readFileSync(input)))).toBe(true);
    expect(r.outputSha256.equals(sha256(readFileSync(out)))).toBe(true);
    const v = await verifyPayload(out, [DEV_PUB]);
    expect(v.hash.equals(r.signedHash)).toBe(true);
  });
});

describe('several keys give several signatures, the last one version 2', () => {
  it('two keys: versions 1 and 2, placeholder for 2 × 256 bytes, update_engine checks the second', async () => {
    const second = throwaway(2048, 'second');
    const out = join(dir, 'two.signed');
    const r = await signPayload({ input: UNSIGNED, output: out, signers: [nodeSigner(DEV_PRIV, 'dev'), second] });
    expect(r.signatures.map((s) => s.version)).toEqual([1, 2]);
    const bytes = readFileSync(out);
    const meta = parsePayloadBytes(bytes);
    expect(meta.signatures).toEqual({ offset: 13423, size: 528 });
    const sigs = decodeSignatures(bytes.subarray(meta.metadataSize + 13423), 'test');
    expect(sigs.map((s) => [s.version, s.data.length])).toEqual([[1, 256], [2, 256]]);

    const accepted = await verifyPayload(out, [second.publicKey]);
    expect(accepted.signatures.map((s) => s.checkedByUpdateEngine)).toEqual([false, true]);
    // The developer key's signature is valid, but it is version 1: update_engine does not look at it.
    const report = await inspectPayload(out, [DEV_PUB]);
    expect(report.ok).toBe(false);
    expect(report.signatures[0]!.verifiedBy).toEqual([0]);
    expect(report.signatures[1]!.verifiedBy).toEqual([]);
    expect(report.reason).toMatch(/#1 \(version 1\)/);
    await expect(verifyPayload(out, [DEV_PUB])).rejects.toMatchObject({ code: 'PAYLOAD_SIGNATURE_INVALID' });
  });

  it('three keys of mixed sizes: versions 0, 1, 2 with version 0 written explicitly', async () => {
    const big = throwaway(4096, 'rsa4096');
    const out = join(dir, 'three.signed');
    await signPayload({ input: UNSIGNED, output: out, signers: [nodeSigner(DEV_PRIV), throwaway(2048, 'b'), big] });
    const bytes = readFileSync(out);
    const meta = parsePayloadBytes(bytes);
    const sigs = decodeSignatures(bytes.subarray(meta.metadataSize + meta.signatures!.offset), 'test');
    expect(sigs.map((s) => [s.version, s.data.length])).toEqual([[0, 256], [1, 256], [2, 512]]);
    await verifyPayload(out, [big.publicKey]);
  });

  it('refuses a fourth key, which would need a version below 0', async () => {
    const out = join(dir, 'four');
    const signers = [nodeSigner(DEV_PRIV), nodeSigner(DEV_PRIV), nodeSigner(DEV_PRIV), nodeSigner(DEV_PRIV)];
    await expect(signPayload({ input: UNSIGNED, output: out, signers })).rejects.toMatchObject({ code: 'USAGE' });
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('signing refuses what it must, and leaves no output behind', () => {
  it('refuses to sign an already-signed payload (double signing)', async () => {
    const out = join(dir, 'again');
    await expect(signPayload({ input: join(CRAU, 'update.signed'), output: out, signers: [nodeSigner(DEV_PRIV)] })).rejects.toMatchObject({
      code: 'PAYLOAD_ALREADY_SIGNED',
      message: expect.stringMatching(/already signed/),
    });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses to replace an existing output unless asked (clobbering a file)', async () => {
    const out = join(dir, 'exists');
    writeFileSync(out, 'precious');
    await expect(signPayload({ input: UNSIGNED, output: out, signers: [nodeSigner(DEV_PRIV)] })).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
    expect(readFileSync(out, 'utf8')).toBe('precious');
    await signPayload({ input: UNSIGNED, output: out, signers: [nodeSigner(DEV_PRIV)], overwrite: true });
    expect(readFileSync(out).equals(readFileSync(join(CRAU, 'update.signed')))).toBe(true);
    expect(readdirSync(dir)).toEqual(['exists']);
  });

  it('refuses to write the output over its own input', async () => {
    const input = join(dir, 'p');
    writeFileSync(input, readFileSync(UNSIGNED));
    await expect(signPayload({ input, output: input, signers: [nodeSigner(DEV_PRIV)], overwrite: true })).rejects.toMatchObject({ code: 'USAGE' });
    expect(readFileSync(input).equals(readFileSync(UNSIGNED))).toBe(true);
  });

  it('writes nothing when the key fails mid-ceremony, and says why (HSM_FAILURE with the token\'s error as its cause)', async () => {
    const removed = new Error('token removed');
    const failing: DigestSigner = { ...nodeSigner(DEV_PRIV), async signDigest() { throw removed; } };
    await expect(signPayload({ input: UNSIGNED, output: join(dir, 'o'), signers: [failing] })).rejects.toMatchObject({ code: 'HSM_FAILURE', cause: removed });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a signer that refuses with a reason of its own (a key that expired since it was selected) keeps its code; nothing written', async () => {
    const expired: DigestSigner = { ...nodeSigner(DEV_PRIV), async signDigest() { throw new CeremonyError('KEY_EXPIRED', 'the key expired a second ago'); } };
    await expect(signPayload({ input: UNSIGNED, output: join(dir, 'o'), signers: [expired] })).rejects.toMatchObject({ code: 'KEY_EXPIRED' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses no key at all, and keys update_engine cannot check, before anything is read or written', async () => {
    await expect(signPayload({ input: UNSIGNED, output: join(dir, 'o'), signers: [] })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/needs at least one key/) });
    const dev = nodeSigner(DEV_PRIV);
    // Each half of the rule on its own: a modulus under 1024 bits, and one that is not whole bytes.
    for (const modulusBits of [1016, 2044]) {
      await expect(signPayload({ input: UNSIGNED, output: join(dir, 'o'), signers: [{ ...dev, modulusBits }] })).rejects.toMatchObject({ code: 'KEY_UNSUITABLE' });
    }
    expect(readdirSync(dir)).toEqual([]);
    // 1024 bits is the smallest accepted.
    const small = throwaway(1024, 'rsa-1024');
    const r = await signPayload({ input: UNSIGNED, output: join(dir, 'o'), signers: [small] });
    expect(r.signatures.map((x) => x.bytes)).toEqual([128]);
    expect((await verifyPayload(join(dir, 'o'), [small.publicKey])).ok).toBe(true);
  });

  it('never writes a signature that does not verify (faulty token)', async () => {
    const good = nodeSigner(DEV_PRIV);
    const faulty: DigestSigner = {
      ...good,
      async signDigest(hash, digest) {
        const s = await good.signDigest(hash, digest);
        s[100]! ^= 1;
        return s;
      },
    };
    await expect(signPayload({ input: UNSIGNED, output: join(dir, 'o'), signers: [faulty] })).rejects.toMatchObject({ code: 'SELF_CHECK_FAILED' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writes nothing when cancelled during the copy', async () => {
    const input = join(dir, 'big.unsigned');
    makeUnsignedPayload(input, 20 * 1024 * 1024);
    const ac = new AbortController();
    const run = signPayload({
      input,
      output: join(dir, 'o'),
      signers: [nodeSigner(DEV_PRIV)],
      signal: ac.signal,
      onProgress: (p) => p.bytes > 5 * 1024 * 1024 && ac.abort(),
    });
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(readdirSync(dir)).toEqual(['big.unsigned']);
  });

  it('refuses to sign an input that changed since it was verified (swap after check)', async () => {
    const verified = sha256(readFileSync(UNSIGNED));
    verified[0]! ^= 1;
    const out = join(dir, 'o');
    const signer: DigestSigner = { ...nodeSigner(DEV_PRIV), async signDigest() { throw new Error('must not be asked to sign'); } };
    await expect(signPayload({ input: UNSIGNED, output: out, signers: [signer], expectInputSha256: verified })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(readdirSync(dir)).toEqual([]);
    verified[0]! ^= 1;
    await signPayload({ input: UNSIGNED, output: out, signers: [nodeSigner(DEV_PRIV)], expectInputSha256: verified });
    expect(readFileSync(out).equals(readFileSync(join(CRAU, 'update.signed')))).toBe(true);
  });

  it('refuses malformed input without creating files', async () => {
    const input = join(dir, 'junk');
    writeFileSync(input, 'CrAU but nothing else');
    await expect(signPayload({ input, output: join(dir, 'o'), signers: [nodeSigner(DEV_PRIV)] })).rejects.toMatchObject({ code: 'PAYLOAD_MALFORMED' });
    expect(readdirSync(dir)).toEqual(['junk']);
  });

  it('discarding a prepared draft removes its temp file', async () => {
    const draft = await preparePayload({ input: UNSIGNED, output: join(dir, 'o'), signatureSizes: [256] });
    expect(readdirSync(dir)).toHaveLength(1);
    await draft.discard();
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('a payload changed between reads is never signed (issue 12, item 1)', () => {
  // Reads 1 and 2 are the header and the manifest; from read 3 on, the blob area in stages (output-file.ts).
  for (const n of [3, 4, 5]) {
    it(`bytes swapped on read ${n} and put back: DIGEST_MISMATCH, nothing signed or written`, async () => {
      const input = join(dir, 'big.unsigned');
      makeUnsignedPayload(input, 13 * 1024 * 1024 + 123);
      const verified = sha256(readFileSync(input));
      const swap = swapOnRead(n);
      const signer = nodeSigner(DEV_PRIV);
      let signed = 0;
      const counting: DigestSigner = { ...signer, signDigest: async (h, d) => (signed++, signer.signDigest(h, d)) };
      await expect(
        signPayload({ input, output: join(dir, 'big.signed'), signers: [counting], expectInputSha256: verified, openInput: swap.open }),
      ).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
      expect(swap.swappedAt).toBeDefined();
      expect(signed).toBe(0);
      expect(readdirSync(dir)).toEqual(['big.unsigned']);
    });
  }

  it('the input SHA-256 it reports is of the bytes it signed and wrote, not of another read', async () => {
    const input = join(dir, 'big.unsigned');
    makeUnsignedPayload(input, 9 * 1024 * 1024);
    const swap = swapOnRead(4);
    const out = join(dir, 'big.signed');
    const r = await signPayload({ input, output: out, signers: [nodeSigner(DEV_PRIV)], openInput: swap.open });
    const asSigned = readFileSync(input);
    asSigned[swap.swappedAt!]! ^= 0xff;
    expect(r.inputSha256.equals(sha256(asSigned))).toBe(true);
    const written = readFileSync(out);
    const meta = parsePayloadBytes(written);
    const blobs = written.subarray(meta.metadataSize, meta.metadataSize + meta.signatures!.offset);
    expect(blobs.equals(asSigned.subarray(parsePayloadBytes(asSigned).metadataSize))).toBe(true);
  });
});

describe('verification follows update_engine', () => {
  const SIGNED = join(CRAU, 'update.signed');

  it('accepts update.signed with developer-v1 and says which signature it checked', async () => {
    const v = await verifyPayload(SIGNED, [DEV_PUB]);
    expect(v.signedBytes).toBe(13772);
    expect(v.signatures).toEqual([{ index: 0, version: 2, bytes: 256, verifiedBy: [0], checkedByUpdateEngine: true }]);
    expect(v.hash.equals(readFileSync(join(CRAU, 'update.hash')))).toBe(true);
  });

  it("refuses update.signed with Flatcar's official key (wrong key)", async () => {
    await expect(verifyPayload(SIGNED, [OFFICIAL_PUB])).rejects.toMatchObject({ code: 'PAYLOAD_SIGNATURE_INVALID' });
  });

  it('refuses an unsigned payload', async () => {
    await expect(verifyPayload(UNSIGNED, [DEV_PUB])).rejects.toMatchObject({ code: 'PAYLOAD_SIGNATURE_INVALID' });
  });

  const original = readFileSync(SIGNED);
  const meta = parsePayloadBytes(original);
  const tamperings: [string, number][] = [
    ['a flipped bit in the manifest (an operation hash)', 40],
    ['a flipped bit in a data blob', meta.metadataSize + 500],
    ['a flipped bit in the last byte before the signatures', meta.metadataSize + meta.signatures!.offset - 1],
    ['a flipped bit in the signature', original.length - 10],
  ];
  for (const [attack, at] of tamperings) {
    it(`refuses ${attack}`, async () => {
      const p = join(dir, 'tampered');
      const bytes = Buffer.from(original);
      bytes[at]! ^= 0x01;
      writeFileSync(p, bytes);
      await expect(verifyPayload(p, [DEV_PUB])).rejects.toMatchObject({ code: 'PAYLOAD_SIGNATURE_INVALID' });
    });
  }

  it('refuses a signature relabelled from version 2 to version 1 (downgrade)', async () => {
    const p = join(dir, 'relabelled');
    const bytes = Buffer.from(original);
    const sigStart = meta.metadataSize + meta.signatures!.offset;
    const versionAt = bytes.indexOf(Buffer.from([0x08, 0x02]), sigStart);
    bytes[versionAt + 1] = 0x01;
    writeFileSync(p, bytes);
    const r = await inspectPayload(p, [DEV_PUB]);
    expect(r.signatures).toEqual([{ index: 0, version: 1, bytes: 256, verifiedBy: [0], checkedByUpdateEngine: false }]);
    await expect(verifyPayload(p, [DEV_PUB])).rejects.toMatchObject({ code: 'PAYLOAD_SIGNATURE_INVALID' });
  });
});
