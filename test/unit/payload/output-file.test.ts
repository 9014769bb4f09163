/**
 * The signed payload's writer (ceremony/payload/output-file.ts) on the filesystems it meets: O_DIRECT where
 * the filesystem takes it, buffered writes of the same bytes where the filesystem refuses the O_DIRECT open
 * (FAT, some FUSE mounts, tmpfs before Linux 6.6) or every buffer alignment the probe tries. Linux 6.6 and
 * later take O_DIRECT on tmpfs too, so a test on /dev/shm no longer reaches the buffered path: the refusals
 * are injected at node:fs (the O_DIRECT open, the probe's writes), and the same payload is signed through
 * each path and compared byte for byte.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const refuse = { directOpen: false, probe: false };
const EINVAL = () => Object.assign(new Error('EINVAL: invalid argument'), { code: 'EINVAL' });
const O_DIRECT = (constants as Record<string, number>).O_DIRECT ?? 0;

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open = (async (...args: Parameters<typeof real.open>) => {
    if (refuse.directOpen && typeof args[1] === 'number' && (args[1] & O_DIRECT) !== 0) throw EINVAL();
    return real.open(...args);
  }) as typeof real.open;
  return { ...real, default: { ...real, open }, open };
});
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  // The alignment probe: one 4096-byte write at offset 0 through the O_DIRECT descriptor, by writeSync.
  const writeSync = ((...args: Parameters<typeof real.writeSync>) => {
    if (refuse.probe && args[3] === 4096 && args[4] === 0) throw EINVAL();
    return (real.writeSync as (...a: unknown[]) => number)(...args);
  }) as typeof real.writeSync;
  return { ...real, default: { ...real, writeSync }, writeSync };
});

const { StagedOutput, STAGE_BYTES } = await import('../../../ceremony/payload/output-file.js');
const { preparePayload } = await import('../../../ceremony/payload/draft.js');
const { makeUnsignedPayload } = await import('./make-payload.js');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'output-file-'));
  refuse.directOpen = false;
  refuse.probe = false;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Whether this test's folder takes O_DIRECT at all, asked of the kernel directly. */
function folderTakesDirectIo(): boolean {
  try {
    closeSync(openSync(join(dir, 'probe'), constants.O_CREAT | constants.O_WRONLY | O_DIRECT, 0o600));
    return true;
  } catch {
    return false;
  } finally {
    rmSync(join(dir, 'probe'), { force: true });
  }
}

const openDescriptors = () => readdirSync('/proc/self/fd').length;

/** Sign `input` into `output` with a fixed 256-byte signature, the pass written by whichever path is open. */
async function sign(input: string, output: string): Promise<Buffer> {
  const draft = await preparePayload({ input, output, signatureSizes: [256] });
  await draft.commit([Buffer.alloc(256, 0xa5)]);
  return readFileSync(output);
}

describe('the O_DIRECT path and the buffered one write the same bytes', () => {
  it('takes O_DIRECT where the filesystem does (a build that never took it would still pass every byte test)', async () => {
    const out = await StagedOutput.create(join(dir, 'out'));
    try {
      expect(out.usesDirectIo).toBe(folderTakesDirectIo());
    } finally {
      await out.close();
    }
  });

  it('a filesystem that refuses the O_DIRECT open gets buffered writes, and the same signed payload', async () => {
    const input = join(dir, 'in.unsigned');
    makeUnsignedPayload(input, 2 * STAGE_BYTES + 12_345, STAGE_BYTES + 4099);
    const direct = await sign(input, join(dir, 'direct.signed'));
    refuse.directOpen = true;
    const out = await StagedOutput.create(join(dir, 'refused'));
    expect(out.usesDirectIo).toBe(false);
    await out.close();
    const buffered = await sign(input, join(dir, 'buffered.signed'));
    expect(buffered.equals(direct)).toBe(true);
  });

  it('a filesystem that refuses every buffer alignment gets buffered writes, and its O_DIRECT descriptor is closed', async () => {
    const input = join(dir, 'in.unsigned');
    makeUnsignedPayload(input, 2 * STAGE_BYTES + 777, STAGE_BYTES + 4099);
    const direct = await sign(input, join(dir, 'direct.signed'));
    refuse.probe = true;
    const before = openDescriptors();
    const out = await StagedOutput.create(join(dir, 'unaligned'));
    expect(out.usesDirectIo).toBe(false);
    expect(openDescriptors()).toBe(before + 1); // the created file's descriptor alone
    await out.close();
    const buffered = await sign(input, join(dir, 'buffered.signed'));
    expect(buffered.equals(direct)).toBe(true);
  });

  it('finishing or closing the output releases both of its descriptors', async () => {
    const before = openDescriptors();
    const finished = await StagedOutput.create(join(dir, 'finished'));
    await finished.writeStage(Buffer.alloc(STAGE_BYTES, 0x5a), 0);
    await finished.finish(STAGE_BYTES);
    expect(openDescriptors()).toBe(before);
    const abandoned = await StagedOutput.create(join(dir, 'abandoned'));
    await abandoned.close();
    expect(openDescriptors()).toBe(before);
    expect(readFileSync(join(dir, 'finished')).equals(Buffer.alloc(STAGE_BYTES, 0x5a))).toBe(true);
  });
});
