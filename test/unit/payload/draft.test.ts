/**
 * The signing pass's own guards (ceremony/payload/draft.ts), each with a test that fails when the guard is
 * removed (found by a mutation run, docs/MUTATION.md): the checks made before a byte is read, the stage
 * pipeline that refills a buffer only once it was written and hashed, a file that shrinks under the pass,
 * the progress it reports, and a draft that commits once, whole, or not at all.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSignablePayload, preparePayload, type Progress } from '../../../ceremony/payload/draft.js';
import { makeUnsignedPayload, type MadePayload } from './make-payload.js';
import {
  HEADER_SIZE,
  openPayloadSource,
  readPayloadMetadata,
  type OpenPayloadSource,
} from '../../../ceremony/payload/format.js';
import { STAGE_BYTES, STAGE_COUNT } from '../../../ceremony/payload/output-file.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'payload-draft-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** An unsigned payload in the test's folder whose blob differs from stage to stage (a pattern of odd length). */
function payload(name: string, blobSize: number): MadePayload {
  return makeUnsignedPayload(join(dir, name), blobSize, STAGE_BYTES + 4099);
}

/** The file, read through a source that counts its reads. */
function counting(): { open: OpenPayloadSource; reads: () => number } {
  let reads = 0;
  const open: OpenPayloadSource = async (path, what) => {
    const real = await openPayloadSource(path, what);
    return {
      size: real.size,
      read: (b, o, l, p) => {
        reads++;
        return real.read(b, o, l, p);
      },
      close: () => real.close(),
    };
  };
  return { open, reads: () => reads };
}

const signatureOf = (n: number) => randomBytes(n);

describe('what the pass checks before it reads a byte', () => {
  it('refuses an existing output before reading the input, and replaces it only when asked', async () => {
    const p = payload('in.unsigned', 3000);
    const out = join(dir, 'exists');
    writeFileSync(out, 'precious');
    const source = counting();
    await expect(
      preparePayload({ input: p.path, output: out, signatureSizes: [256], openInput: source.open }),
    ).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
    expect(source.reads()).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('precious');
    // Asked to replace it: an existing file on the input's own filesystem is replaced, not taken for the input.
    const draft = await preparePayload({
      input: p.path,
      output: out,
      signatureSizes: [256],
      overwrite: true,
    });
    await draft.commit([signatureOf(256)]);
    expect(readFileSync(out).subarray(0, 4).toString()).toBe('CrAU');
    expect(readdirSync(dir).sort()).toEqual(['exists', 'in.unsigned']);
  });

  it('refuses an output that is the input under another name (a hard link), even with --force', async () => {
    const p = payload('in.unsigned', 3000);
    const before = readFileSync(p.path);
    const alias = join(dir, 'alias');
    linkSync(p.path, alias);
    await expect(
      preparePayload({ input: p.path, output: alias, signatureSizes: [256], overwrite: true }),
    ).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/is the input payload itself/),
    });
    expect(readFileSync(p.path).equals(before)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['alias', 'in.unsigned']);
  });

  it.each([[0], [2049], [255.5], [-256]])(
    'refuses a signature size of %s bytes before reading',
    async (size) => {
      const p = payload('in.unsigned', 3000);
      const source = counting();
      await expect(
        preparePayload({
          input: p.path,
          output: join(dir, 'o'),
          signatureSizes: [256, size],
          openInput: source.open,
        }),
      ).rejects.toMatchObject({ code: 'USAGE' });
      expect(source.reads()).toBe(0);
      expect(readdirSync(dir)).toEqual(['in.unsigned']);
    },
  );

  it('accepts the smallest and largest signature sizes it can reserve (1 and 2048 bytes)', async () => {
    const p = payload('in.unsigned', 3000);
    for (const size of [1, 2048]) {
      const out = join(dir, `o${size}`);
      const draft = await preparePayload({ input: p.path, output: out, signatureSizes: [size] });
      expect(draft.signatureSizes).toEqual([size]);
      await draft.commit([signatureOf(size)]);
      expect(existsSync(out)).toBe(true);
    }
  });

  it('says it cannot create its temp file when the output folder does not exist (OUTPUT_FAILED)', async () => {
    const p = payload('in.unsigned', 3000);
    await expect(
      preparePayload({ input: p.path, output: join(dir, 'missing', 'o'), signatureSizes: [256] }),
    ).rejects.toMatchObject({
      code: 'OUTPUT_FAILED',
      message: expect.stringMatching(/cannot create a temporary file/),
    });
    expect(readdirSync(dir)).toEqual(['in.unsigned']);
  });

  it('checkSignablePayload holds the signing rule: a manifest it could not re-encode byte for byte is refused', async () => {
    const p = payload('in.unsigned', 3000);
    const bytes = readFileSync(p.path);
    const manifestLength = Number(bytes.readBigUInt64BE(12));
    // An unknown field (number 99, varint 1) appended to the manifest: update_engine reads it, re-encoding drops it.
    const extra = Buffer.from([0x98, 0x06, 0x01]);
    const header = Buffer.from(bytes.subarray(0, HEADER_SIZE));
    header.writeBigUInt64BE(BigInt(manifestLength + extra.length), 12);
    const odd = join(dir, 'odd.unsigned');
    writeFileSync(
      odd,
      Buffer.concat([
        header,
        bytes.subarray(HEADER_SIZE, HEADER_SIZE + manifestLength),
        extra,
        bytes.subarray(HEADER_SIZE + manifestLength),
      ]),
    );
    await expect(readPayloadMetadata(odd, { reproducible: false })).resolves.toMatchObject({
      dataSize: 3000,
    });
    await expect(checkSignablePayload(odd)).rejects.toMatchObject({
      code: 'PAYLOAD_MALFORMED',
      message: expect.stringMatching(/byte for byte/),
    });
    await expect(checkSignablePayload(p.path)).resolves.toMatchObject({ dataSize: 3000 });
  });
});

describe('the stage pipeline', () => {
  it('refills a stage only after it was written and hashed: reads that never wait still sign exactly the input', async () => {
    // Three times round the stage ring, from memory: a reader that never yields would overwrite stages
    // still being written and hashed if the pass did not wait for them.
    const p = payload('in.unsigned', 3 * STAGE_COUNT * STAGE_BYTES + 12345);
    const input = readFileSync(p.path);
    const fromMemory: OpenPayloadSource = async () => ({
      size: input.length,
      read: async (buffer, offset, length, position) =>
        input.copy(buffer, offset, position, Math.min(input.length, position + length)),
      close: async () => {},
    });
    const out = join(dir, 'o');
    const draft = await preparePayload({
      input: p.path,
      output: out,
      signatureSizes: [256],
      openInput: fromMemory,
    });
    expect(draft.inputSha256.equals(sha256(input))).toBe(true);
    const done = await draft.commit([signatureOf(256)]);
    const written = readFileSync(out);
    const inputMetadata = p.size - p.blobSize;
    expect(
      written
        .subarray(draft.metadataSize, draft.metadataSize + p.blobSize)
        .equals(input.subarray(inputMetadata)),
    ).toBe(true);
    expect(done.outputSha256.equals(sha256(written))).toBe(true);
  });

  it('refuses a payload that shrinks while it is read (PAYLOAD_MALFORMED), and leaves nothing behind', async () => {
    const p = payload('in.unsigned', 5 * STAGE_BYTES);
    const cut = Math.floor(p.size / 2);
    const shrinking: OpenPayloadSource = async (path, what) => {
      const real = await openPayloadSource(path, what);
      return {
        size: real.size,
        read: (b, o, l, pos) =>
          pos >= cut ? Promise.resolve(0) : real.read(b, o, Math.min(l, cut - pos), pos),
        close: () => real.close(),
      };
    };
    await expect(
      preparePayload({ input: p.path, output: join(dir, 'o'), signatureSizes: [256], openInput: shrinking }),
    ).rejects.toMatchObject({
      code: 'PAYLOAD_MALFORMED',
      message: expect.stringMatching(/changed size while it was being read/),
    });
    expect(readdirSync(dir)).toEqual(['in.unsigned']);
  });

  it('an input that fails mid-pass (a failing USB stick) is INPUT_UNREADABLE, with the error as its cause; nothing left behind', async () => {
    const p = payload('in.unsigned', 5 * STAGE_BYTES);
    const eio = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    let reads = 0;
    // The product's own source over a descriptor that fails: closed under it after two reads.
    const failing: OpenPayloadSource = async (path, what) => {
      const real = await openPayloadSource(path, what);
      return {
        size: real.size,
        read: async (b, o, l, pos) => {
          if (++reads === 3) await real.close(); // the first read of the blob finds the descriptor gone
          return real.read(b, o, l, pos);
        },
        close: () => real.close().catch(() => {}),
      };
    };
    await expect(preparePayload({ input: p.path, output: join(dir, 'o'), signatureSizes: [256], openInput: failing })).rejects.toMatchObject({
      code: 'INPUT_UNREADABLE',
      message: expect.stringMatching(/in\.unsigned cannot be read/),
      cause: expect.objectContaining({ code: 'EBADF' }),
    });
    expect(readdirSync(dir)).toEqual(['in.unsigned']);
    // Any other failure of the pass keeps its cause too, under a code of the ceremony's own (OUTPUT_FAILED), never raw.
    const raw: OpenPayloadSource = async (path, what) => {
      const real = await openPayloadSource(path, what);
      return { size: real.size, read: (b, o, l, pos) => (pos > STAGE_BYTES ? Promise.reject(eio) : real.read(b, o, l, pos)), close: () => real.close() };
    };
    await expect(preparePayload({ input: p.path, output: join(dir, 'o'), signatureSizes: [256], openInput: raw })).rejects.toMatchObject({ code: 'OUTPUT_FAILED', cause: eio });
    expect(readdirSync(dir)).toEqual(['in.unsigned']);
  });

  it('reports the input bytes processed after each stage, from the metadata to the whole file', async () => {
    const p = payload('in.unsigned', 2 * STAGE_BYTES + 777);
    const seen: Progress[] = [];
    const draft = await preparePayload({
      input: p.path,
      output: join(dir, 'o'),
      signatureSizes: [256],
      onProgress: (x) => seen.push({ ...x }),
    });
    await draft.discard();
    const inputMetadata = p.size - p.blobSize;
    const outputTotal = draft.metadataSize + p.blobSize;
    const stages = Math.ceil(outputTotal / STAGE_BYTES);
    const expected = [inputMetadata];
    for (let i = 0; i < stages; i++)
      expected.push(
        inputMetadata +
          Math.min(p.blobSize, Math.min((i + 1) * STAGE_BYTES, outputTotal) - draft.metadataSize),
      );
    expect(seen.map((x) => x.bytes)).toEqual(expected);
    expect(seen.every((x) => x.total === p.size)).toBe(true);
  });
});

describe('a draft commits once, whole, or not at all', () => {
  it('refuses a second commit, and a commit after discard', async () => {
    const p = payload('in.unsigned', 3000);
    const out = join(dir, 'o');
    const draft = await preparePayload({ input: p.path, output: out, signatureSizes: [256] });
    await draft.commit([signatureOf(256)]);
    const first = readFileSync(out);
    await expect(draft.commit([signatureOf(256)])).rejects.toMatchObject({ code: 'INTERNAL' });
    await draft.discard(); // after commit: leaves the output alone
    expect(readFileSync(out).equals(first)).toBe(true);

    const other = await preparePayload({ input: p.path, output: join(dir, 'o2'), signatureSizes: [256] });
    await other.discard();
    await expect(other.commit([signatureOf(256)])).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(readdirSync(dir).sort()).toEqual(['in.unsigned', 'o']);
  });

  it.each([
    ['one byte short', [256], [255]],
    ['one byte long', [256], [257]],
    ['a signature missing', [256, 256], [256]],
    ['a signature too many', [256], [256, 256]],
    // The same block length (each length prefix is two bytes), so only the per-signature check sees it.
    ['a byte traded between two of three', [256, 256, 256], [256, 255, 257]],
  ])(
    'refuses signatures that do not match the sizes reserved for them (%s): no output, no temp file',
    async (_name, reserved, given) => {
      const p = payload('in.unsigned', 3000);
      const draft = await preparePayload({ input: p.path, output: join(dir, 'o'), signatureSizes: reserved });
      await expect(draft.commit(given.map(signatureOf))).rejects.toMatchObject({
        code: 'INTERNAL',
        message: expect.stringMatching(/do not match the placeholder reserved for them/),
      });
      expect(readdirSync(dir)).toEqual(['in.unsigned']);
    },
  );

  it('a cancel after the pass and before the commit writes nothing (CANCELLED)', async () => {
    const p = payload('in.unsigned', 3000);
    const ac = new AbortController();
    const draft = await preparePayload({
      input: p.path,
      output: join(dir, 'o'),
      signatureSizes: [256],
      signal: ac.signal,
    });
    ac.abort();
    await expect(draft.commit([signatureOf(256)])).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(readdirSync(dir)).toEqual(['in.unsigned']);
  });
});
