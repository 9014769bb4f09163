/**
 * The hostile writer of issue 12 item 1, made deterministic: a payload source that answers its n-th
 * read with other bytes (the first byte of that read flipped) and every other read with the file's real
 * bytes — as a file changed between two reads and put back afterwards would. Injected through the
 * payload signer's `openInput` seam (ceremony/payload/format.ts PayloadSource).
 */
import { openPayloadSource, type OpenPayloadSource } from '../../ceremony/payload/format.js';

export interface SwappingSource {
  open: OpenPayloadSource;
  /** Reads made so far, over every source opened. */
  readonly reads: number;
  /** The file offset of the byte that was answered flipped, once it was. */
  readonly swappedAt: number | undefined;
}

export function swapOnRead(n: number): SwappingSource {
  let reads = 0;
  let swappedAt: number | undefined;
  const open: OpenPayloadSource = async (path, what) => {
    const real = await openPayloadSource(path, what);
    return {
      size: real.size,
      async read(buffer, offset, length, position) {
        const got = await real.read(buffer, offset, length, position);
        reads++;
        if (reads === n && got > 0) {
          buffer[offset]! ^= 0xff;
          swappedAt = position;
        }
        return got;
      },
      close: () => real.close(),
    };
  };
  return {
    open,
    get reads() {
      return reads;
    },
    get swappedAt() {
      return swappedAt;
    },
  };
}
