/**
 * The signed payload's temp file, written in fixed-size stages. Full stages go out with O_DIRECT when
 * the filesystem allows it: on the machines measured (docs/BENCHMARKS.md) copying 1 GiB through the page
 * cache with write(2) cost 3.5–4.7 s of system CPU, as much as a whole `sha256sum` pass, while O_DIRECT
 * writes of the same data cost 0.3 s. O_DIRECT needs the buffer address, length and file offset aligned
 * to the device's block size; Node cannot tell a Buffer's address, so one probe write finds an offset
 * into the pool that the kernel accepts. Anything else (the last partial stage, the signature block, a
 * filesystem without O_DIRECT: FAT, some FUSE mounts, tmpfs before Linux 6.6) goes through an ordinary
 * descriptor on the same file.
 */
import { constants, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/**
 * 4 MiB stages. Where the pass is bound by CPU (two SHA-256 passes, the kernel's copies and one message
 * per stage to each hashing thread, on two cores), bigger stages cost less: on the benchmark VM of
 * 2026-12-03 a 1 GiB `payload sign` took 2.62-2.65 s of CPU with 4 MiB stages against 3.04 s with 1 MiB
 * ones, 1.72-1.74 s of wall against 1.95-1.97 s (medians of 8 alternating runs, twice), and the copy alone
 * less too (an O_DIRECT request costs the kernel about as much at 4 MiB as at 1). An earlier VM bound by its
 * disk had favoured 1 MiB stages (docs/BENCHMARKS.md): there, smaller writes started sooner.
 */
export const STAGE_BYTES = 4 * 1024 * 1024;
/**
 * 8 stages (32 MiB): one being filled, some being hashed, several being written (disk queue depth), and
 * slack for the input's hasher on the other thread, which hashes the same stages and may lag behind
 * the main thread for a while on a busy machine: a stage is refilled only when both are done with it.
 */
export const STAGE_COUNT = 8;
/** The largest alignment a block device asks for (logical block size); probing steps by malloc's 16. */
const MAX_ALIGNMENT = 4096;

async function writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

export class StagedOutput {
  private constructor(
    private plain: FileHandle | undefined,
    private direct: FileHandle | undefined,
    /** STAGE_COUNT buffers of STAGE_BYTES, aligned for O_DIRECT when `direct` is set. */
    readonly stages: Buffer[],
    /** The memory behind `stages`, shared with the threads that hash them (hash-lane.ts). */
    readonly pool: SharedArrayBuffer,
  ) {}

  /** Create `path` exclusively (mode 0644) and set up the stages. */
  static async create(path: string): Promise<StagedOutput> {
    const plain = await open(path, 'wx', 0o644);
    const shared = new SharedArrayBuffer(STAGE_COUNT * STAGE_BYTES + MAX_ALIGNMENT);
    const pool = Buffer.from(shared);
    let direct: FileHandle | undefined;
    let offset = 0;
    const O_DIRECT = (constants as Record<string, number>).O_DIRECT;
    if (O_DIRECT) {
      try {
        // The second descriptor is opened by name, so it must be the file the first one created: never
        // a symlink (O_NOFOLLOW) nor a file renamed over the temp name meanwhile (same device and inode).
        // Otherwise the stages go out through the first descriptor only (the catch below).
        direct = await open(path, constants.O_WRONLY | O_DIRECT | constants.O_NOFOLLOW);
        const [made, reopened] = await Promise.all([plain.stat(), direct.stat()]);
        if (made.dev !== reopened.dev || made.ino !== reopened.ino) throw new Error('the temp file was replaced between its creation and its O_DIRECT open');
        const found = probeAlignment(direct.fd, pool);
        if (found === undefined) {
          await direct.close();
          direct = undefined;
        } else {
          offset = found;
        }
      } catch {
        await direct?.close().catch(() => {});
        direct = undefined; // FAT, some FUSE mounts and tmpfs before Linux 6.6 refuse O_DIRECT: buffered writes it is
      }
    }
    const stages = Array.from({ length: STAGE_COUNT }, (_, i) => pool.subarray(offset + i * STAGE_BYTES, offset + (i + 1) * STAGE_BYTES));
    return new StagedOutput(plain, direct, stages, shared);
  }

  get usesDirectIo(): boolean {
    return this.direct !== undefined;
  }

  /** Write one stage's bytes at `position` (a multiple of STAGE_BYTES). */
  async writeStage(data: Buffer, position: number): Promise<void> {
    if (this.direct && data.length === STAGE_BYTES && position % STAGE_BYTES === 0) {
      try {
        const { bytesWritten } = await this.direct.write(data, 0, data.length, position);
        if (bytesWritten === data.length) return;
        return await writeAll(this.plain!, data.subarray(bytesWritten), position + bytesWritten);
      } catch {
        // fall through: the buffered descriptor writes the whole stage again
      }
    }
    await writeAll(this.plain!, data, position);
  }

  async writeTail(data: Uint8Array, position: number): Promise<void> {
    await writeAll(this.plain!, data, position);
  }

  /** Cut the file to `size` (the alignment probe may have written past a tiny payload), fsync, close. */
  async finish(size: number): Promise<void> {
    await this.plain!.truncate(size);
    await this.plain!.sync();
    await this.close();
  }

  async close(): Promise<void> {
    const [p, d] = [this.plain, this.direct];
    this.plain = undefined;
    this.direct = undefined;
    await Promise.allSettled([p?.close(), d?.close()]);
  }
}

/**
 * Find an offset into `pool` whose address the kernel accepts for O_DIRECT, by writing one block at
 * file offset 0 (overwritten later by the first stage). EINVAL means "misaligned": try the next offset.
 */
function probeAlignment(fd: number, pool: Buffer): number | undefined {
  for (let k = 0; k < MAX_ALIGNMENT; k += 16) {
    try {
      if (writeSync(fd, pool, k, MAX_ALIGNMENT, 0) === MAX_ALIGNMENT) return k;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') return undefined;
    }
  }
  return undefined;
}
