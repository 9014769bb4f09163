/**
 * Byte-level edits of a binary v4 signature packet that leave the signed part untouched (RFC 4880 §5.2.3): what
 * anyone holding a signature can do without a key. Re-emitted with a new-format header (§4.2.2).
 */

function packetBody(sig: Uint8Array): Uint8Array {
  const ctb = sig[0]!;
  if ((ctb & 0x80) === 0) throw new Error('not an OpenPGP packet');
  if (ctb & 0x40) {
    const first = sig[1]!;
    if (first < 192) return sig.subarray(2, 2 + first);
    if (first < 224) return sig.subarray(3, 3 + ((first - 192) << 8) + sig[2]! + 192);
    return sig.subarray(6, 6 + Buffer.from(sig.subarray(2, 6)).readUInt32BE());
  }
  const lenType = ctb & 3;
  const size = [1, 2, 4][lenType]!;
  const len = Buffer.from(sig.subarray(1, 1 + size)).readUIntBE(0, size);
  return sig.subarray(1 + size, 1 + size + len);
}

function newFormatPacket(tag: number, body: Uint8Array): Buffer {
  let len: Buffer;
  if (body.length < 192) len = Buffer.from([body.length]);
  else if (body.length < 8384) len = Buffer.from([((body.length - 192) >> 8) + 192, (body.length - 192) & 0xff]);
  else len = Buffer.concat([Buffer.from([0xff]), Buffer.from([0, 0, 0, 0].map((_, i) => (body.length >>> (24 - 8 * i)) & 0xff))]);
  return Buffer.concat([Buffer.from([0xc0 | tag]), len, body]);
}

/** Append one subpacket (type, body) to the unhashed area of a binary v4 signature packet. */
export function appendUnhashedSubpacket(sig: Uint8Array, type: number, body: Uint8Array): Buffer {
  const b = packetBody(sig);
  if (b[0] !== 4) throw new Error('not a v4 signature');
  const hashedLen = (b[4]! << 8) | b[5]!;
  const at = 6 + hashedLen;
  const unhashedLen = (b[at]! << 8) | b[at + 1]!;
  const sub = Buffer.concat([Buffer.from([body.length + 1, type]), body]);
  const newLen = unhashedLen + sub.length;
  const out = Buffer.concat([
    b.subarray(0, at),
    Buffer.from([newLen >> 8, newLen & 0xff]),
    b.subarray(at + 2, at + 2 + unhashedLen),
    sub,
    b.subarray(at + 2 + unhashedLen),
  ]);
  return newFormatPacket(2, out);
}
