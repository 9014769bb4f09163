/**
 * Splitting the quorum secret k-of-n and combining k shares back, over shamir-secret-sharing (Shamir over
 * GF(2^8), one polynomial per byte; the x coordinate is the share's last byte). That library checks nothing
 * about the result: too few, altered or mixed shares give a wrong secret silently, so every combination is
 * checked against the set's commitment by the caller (QuorumSession) before it is used.
 */
import { combine, split } from 'shamir-secret-sharing';
import { wipe } from '../crypto.js';
import { CeremonyError } from '../errors.js';
import type { QuorumSetDescriptor } from './descriptor.js';
import { SECRET_LENGTH, newSetId, quorumCommitment } from './secret.js';
import { CUSTODIAN_NAME, MAX_CUSTODIANS, SHARE_DATA_LENGTH, type Share } from './share.js';

export interface SplitOptions {
  threshold: number;
  /** Custodian names in share order; share i (1-based) goes to custodians[i - 1]. */
  custodians: readonly string[];
  /** A set ID to use (16 lower-case hex); a fresh random one by default. */
  setId?: string;
}

export interface QuorumSplit {
  /** The public description to store on the root token. */
  descriptor: QuorumSetDescriptor;
  /** One share per custodian, in order. Each `data` is secret: wipe with wipeShares when written. */
  shares: Share[];
}

export async function splitQuorumSecret(secret: Uint8Array, options: SplitOptions): Promise<QuorumSplit> {
  const { threshold, custodians } = options;
  const n = custodians.length;
  if (secret.length !== SECRET_LENGTH) throw new RangeError(`a quorum secret is ${SECRET_LENGTH} bytes`);
  if (!Number.isInteger(threshold) || n < 1 || n > MAX_CUSTODIANS || threshold < 1 || threshold > n) {
    throw new CeremonyError('USAGE', `a quorum needs 1 to ${MAX_CUSTODIANS} custodians and a threshold between 1 and their number`);
  }
  for (const c of custodians) if (!CUSTODIAN_NAME.test(c)) throw new CeremonyError('USAGE', `"${c.slice(0, 64)}" is not a valid custodian name`);
  if (new Set(custodians.map((c) => c.toLowerCase())).size !== n) throw new CeremonyError('USAGE', 'custodian names must be unique');
  const setId = options.setId ?? newSetId();
  const commitment = quorumCommitment(setId, secret);
  const pieces = await rawSplit(secret, n, threshold);
  const shares = pieces.map(
    (data, i): Share => ({ version: 1, setId, index: i + 1, threshold, total: n, custodian: custodians[i]!, commitment, data }),
  );
  return { descriptor: { version: 1, setId, commitment, threshold, custodians: [...custodians] }, shares };
}

async function rawSplit(secret: Uint8Array, n: number, k: number): Promise<Buffer[]> {
  if (k === 1) {
    // 1-of-n: every share is the secret itself (a degree-0 polynomial); the library wants k >= 2.
    return Array.from({ length: n }, (_, i) => Buffer.concat([secret, Buffer.from([i + 1])]));
  }
  // The library checks `constructor === Uint8Array`, so a Buffer must be copied into a plain Uint8Array.
  const plain = Uint8Array.from(secret);
  try {
    const raw = await split(plain, n, k);
    return raw.map((r) => {
      const b = Buffer.from(r);
      wipe(r);
      return b;
    });
  } finally {
    wipe(plain);
  }
}

/**
 * Combine exactly the given shares (all from one set, distinct x coordinates, at least k of them: the
 * caller's job). The result is UNCHECKED until compared with the commitment. The caller wipes it.
 */
export async function combineShareData(shares: readonly Share[]): Promise<Buffer> {
  if (shares.length === 0) throw new RangeError('no shares to combine');
  if (shares.some((s) => s.data.length !== SHARE_DATA_LENGTH)) throw new RangeError('share data has the wrong length');
  if (shares.length === 1) return Buffer.from(shares[0]!.data.subarray(0, SECRET_LENGTH));
  const plain = shares.map((s) => Uint8Array.from(s.data));
  try {
    const secret = await combine(plain);
    const out = Buffer.from(secret);
    wipe(secret);
    return out;
  } finally {
    wipe(...plain);
  }
}

export function wipeShares(shares: readonly Share[]): void {
  for (const s of shares) wipe(s.data);
}
