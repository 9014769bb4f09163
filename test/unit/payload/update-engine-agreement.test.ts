/**
 * `payload verify` agrees with update_engine (issue 12, item 7): it accepts what update_engine accepts —
 * a manifest with a field it does not know, or with fields in another order (protobuf's parser takes
 * both; the signature covers the bytes as they are) — and refuses what update_engine with OpenSSL 3
 * refuses: a signature whose length is not exactly the key's modulus length.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { constants, createHash, createPrivateKey, createPublicKey, privateEncrypt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VECTORS } from '../../helpers/cli.js';
import { digestInfo } from '../../../ceremony/crypto.js';
import { crauHeader } from '../../../ceremony/payload/format.js';
import { SignaturesType } from '../../../ceremony/payload/schema.js';
import { addSignaturePlaceholder, parsePayloadBytes, preparePayload, verifyPayload } from '../../../ceremony/payload/index.js';

const UNSIGNED = readFileSync(join(VECTORS, 'crau/update.unsigned'));
const DEV_PRIV = createPrivateKey(readFileSync(join(VECTORS, 'flatcar-keys/developer-v1.key.pem')));
const DEV_PUB = createPublicKey(readFileSync(join(VECTORS, 'flatcar-keys/developer-v1.pub.pem')));

/** The top-level fields of a protobuf message, each as its raw bytes (tag included). */
function fields(message: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  const varint = () => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = message[at++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (at < message.length) {
    const start = at;
    const wire = Number(varint() & 7n);
    if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const length = Number(varint());
      at += length;
    }
    else throw new Error(`wire type ${wire}`);
    out.push(message.subarray(start, at));
  }
  return out;
}

/** Field 4095 (unknown to update_metadata.proto), varint `value`. */
const unknownField = (value: number) => Buffer.from([0xf8, 0xff, 0x01, value & 0x7f]);

/**
 * A payload signed by developer-v1 over `manifest` (which carries the signature placeholder) as is: the
 * header, that manifest, the unsigned vector's blobs, and the Signatures message with `signature`.
 */
function signedWith(manifest: Buffer, signature: (hash: Buffer) => Buffer): Buffer {
  const unsigned = parsePayloadBytes(UNSIGNED);
  const signed = Buffer.concat([crauHeader(manifest.length), manifest, UNSIGNED.subarray(unsigned.metadataSize)]);
  const sig = signature(createHash('sha256').update(signed).digest());
  const blob = Buffer.from(SignaturesType.encode({ signatures: [{ version: 2, data: sig }] }).finish());
  return Buffer.concat([signed, blob]);
}

const rsaSign = (hash: Buffer) => privateEncrypt({ key: DEV_PRIV, padding: constants.RSA_PKCS1_PADDING }, digestInfo('sha256', hash));

/** The manifest with the placeholder for one signature of `size` bytes, as delta_generator writes it. */
function placeholderManifest(size: number): Buffer {
  const blobSize = SignaturesType.encode({ signatures: [{ version: 2, data: new Uint8Array(size) }] }).finish().length;
  return addSignaturePlaceholder(parsePayloadBytes(UNSIGNED), blobSize);
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'payload-agree-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

describe('payload verify accepts what update_engine accepts', () => {
  it('a manifest with a field update_engine does not know (a newer delta_generator) verifies', async () => {
    const manifest = Buffer.concat([placeholderManifest(256), unknownField(7)]);
    const p = file('unknown-field.signed', signedWith(manifest, rsaSign));
    const v = await verifyPayload(p, [DEV_PUB]);
    expect(v.ok).toBe(true);
  });

  it('a manifest whose fields are in another order (another protobuf encoder) verifies', async () => {
    const parts = fields(placeholderManifest(256));
    expect(parts.length).toBeGreaterThan(2);
    const manifest = Buffer.concat([...parts.slice(1), parts[0]!]);
    const p = file('reordered.signed', signedWith(manifest, rsaSign));
    expect((await verifyPayload(p, [DEV_PUB])).ok).toBe(true);
  });

  it('signing still refuses a manifest it cannot reproduce byte for byte (an unknown field)', async () => {
    const unsigned = parsePayloadBytes(UNSIGNED);
    const manifest = Buffer.concat([unsigned.manifestBytes, unknownField(7)]);
    const input = file('unknown.unsigned', Buffer.concat([crauHeader(manifest.length), manifest, UNSIGNED.subarray(unsigned.metadataSize)]));
    await expect(preparePayload({ input, output: join(dir, 'out'), signatureSizes: [256] })).rejects.toMatchObject({ code: 'PAYLOAD_MALFORMED' });
  });
});

describe('payload verify refuses what update_engine refuses', () => {
  it('a 255-byte signature for a 2048-bit key (a valid signature with its leading zero byte dropped) is refused', async () => {
    // A signature whose first byte is 0 reads as the same number without it. Vary an unknown field
    // until the (deterministic) PKCS#1 v1.5 signature starts with 0: about 1 in 256 does.
    let short: Buffer | undefined;
    for (let nonce = 0; nonce < 100_000 && !short; nonce++) {
      const manifest = Buffer.concat([placeholderManifest(255), unknownField(nonce & 0x7f), unknownField(nonce >> 7)]);
      const full = signedWith(manifest, rsaSign);
      const blobAt = full.length - SignaturesType.encode({ signatures: [{ version: 2, data: new Uint8Array(256) }] }).finish().length;
      const sig = rsaSign(createHash('sha256').update(full.subarray(0, blobAt)).digest());
      if (sig[0] === 0) short = signedWith(manifest, () => sig.subarray(1));
    }
    expect(short).toBeDefined();
    const p = file('short-signature.signed', short!);
    const meta = parsePayloadBytes(short!, 'the payload', { reproducible: false });
    expect(meta.signatures!.size).toBe(SignaturesType.encode({ signatures: [{ version: 2, data: new Uint8Array(255) }] }).finish().length);
    await expect(verifyPayload(p, [DEV_PUB])).rejects.toMatchObject({ code: 'PAYLOAD_SIGNATURE_INVALID' });
  });
});
