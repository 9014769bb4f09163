/** The hashed subpacket reader behind the issuer and designated-revoker rules (RFC 4880 §5.2.3.1). */
import { describe, expect, it } from 'vitest';
import * as openpgp from 'openpgp';
import { isCeremonyError } from '../../../ceremony/errors.js';
import { prepareSignature } from '../../../ceremony/openpgp/verify/rules.js';
import { hashedSubpackets, issuerClaim, revocationKeys, splitSubpackets } from '../../../ceremony/openpgp/verify/subpackets.js';

/** A v4 signatureData (version, type, algorithms, hashed area) with the given hashed subpackets. */
function withHashed(area: Buffer): openpgp.SignaturePacket {
  const packet = new openpgp.SignaturePacket();
  packet.signatureData = Buffer.concat([Buffer.from([4, 0, 1, 8, area.length >> 8, area.length & 0xff]), area]);
  return packet;
}

const sub = (type: number, body: Buffer) => Buffer.concat([Buffer.from([body.length + 1, type]), body]);
const fpr = (hex: string) => Buffer.concat([Buffer.from([4]), Buffer.from(hex, 'hex')]);
const A = 'AA'.repeat(20);
const B = 'BB'.repeat(20);

describe('hashed subpackets', () => {
  it('reads one-, two- and five-octet lengths, and stops at a truncated subpacket', () => {
    const long = Buffer.alloc(300, 7);
    const two = Buffer.concat([Buffer.from([((301 - 192) >> 8) + 192, (301 - 192) & 0xff, 20]), long]);
    const five = Buffer.concat([Buffer.from([255, 0, 0, 0, 3, 0x9c]), Buffer.from([1, 2])]);
    const parts = splitSubpackets(Buffer.concat([sub(2, Buffer.from([0, 0, 0, 1])), two, five, Buffer.from([9, 16, 1])]));
    expect(parts.map((p) => [p.type, p.critical, p.body.length])).toEqual([
      [2, false, 4],
      [20, false, 300],
      [28, true, 2],
    ]);
  });

  it('takes the issuer from the signed area and ignores unhashed issuers then; uses the unhashed hints only without one', () => {
    const signed = withHashed(sub(33, fpr(A)));
    signed.unhashedSubpackets = [{ type: 16, critical: false, body: Buffer.from(B.slice(-16), 'hex') }];
    expect(issuerClaim(signed)).toEqual({ hashed: true, fingerprints: [A], keyIDs: [] });
    const unsigned = withHashed(sub(2, Buffer.from([0, 0, 0, 1])));
    unsigned.unhashedSubpackets = [{ type: 16, critical: false, body: Buffer.from(B.slice(-16), 'hex') }];
    expect(issuerClaim(unsigned)).toEqual({ hashed: false, fingerprints: [], keyIDs: [B.slice(-16)] });
  });

  it('lists every revocation key of a signature (openpgp.js keeps only the last), only from the signed area', () => {
    const rk = (hex: string) => Buffer.concat([Buffer.from([0x80, 22]), Buffer.from(hex, 'hex')]);
    const packet = withHashed(Buffer.concat([sub(12, rk(A)), sub(12, rk(B)), sub(12, Buffer.concat([Buffer.from([0x00, 22]), Buffer.from(B, 'hex')]))]));
    expect(revocationKeys(packet)).toEqual([
      { class: 0x80, algorithm: 22, fingerprint: A },
      { class: 0x80, algorithm: 22, fingerprint: B },
    ]);
    expect(hashedSubpackets(packet)).toHaveLength(3);
  });

  it('refuses a signature whose signed part names two different issuers (a key ID that is not the fingerprint\'s)', () => {
    for (const area of [Buffer.concat([sub(33, fpr(A)), sub(33, fpr(B))]), Buffer.concat([sub(33, fpr(A)), sub(16, Buffer.from(B.slice(-16), 'hex'))])]) {
      const packet = withHashed(area);
      packet.signatureType = openpgp.enums.signature.binary;
      packet.hashAlgorithm = openpgp.enums.hash.sha256;
      expect(() => prepareSignature({ source: 'x.sig', packet }, { trusted: [], now: new Date(), kinds: ['binary'] })).toThrow(
        expect.toSatisfy((e: unknown) => isCeremonyError(e, 'SIGNATURE_INVALID')),
      );
    }
  });
});
