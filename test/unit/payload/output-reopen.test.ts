/**
 * The signed payload's temp file is opened twice — created exclusively, then opened again by name with
 * O_DIRECT (ceremony/payload/output-file.ts). A file renamed over the temp name between the two opens must
 * not receive the signed payload's stages: they go through the descriptor that created the file. The seam
 * is node:fs/promises open: the attacker acts just before the second open of the same path.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const attacker: { beforeReopen?: () => void; opens: number } = { opens: 0 };
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open = (async (...args: Parameters<typeof real.open>) => {
    if (attacker.opens++ === 1) attacker.beforeReopen?.();
    return real.open(...args);
  }) as typeof real.open;
  return { ...real, default: { ...real, open }, open };
});

const { StagedOutput, STAGE_BYTES } = await import('../../../ceremony/payload/output-file.js');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'output-reopen-'));
  attacker.opens = 0;
  attacker.beforeReopen = undefined;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the O_DIRECT reopen of the temp file', () => {
  it('a file renamed over the temp name before the reopen receives none of the stages', async () => {
    const tmp = join(dir, '.update.signed.partial');
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'a file of the ceremony user, not the output\n');
    attacker.beforeReopen = () => renameSync(victim, tmp);
    const out = await StagedOutput.create(tmp);
    expect(out.usesDirectIo).toBe(false);
    await out.writeStage(Buffer.alloc(STAGE_BYTES, 0x5a), 0);
    await out.finish(STAGE_BYTES);
    expect(readFileSync(tmp, 'utf8')).toBe('a file of the ceremony user, not the output\n');
  });

  it('a control: untouched, the reopen is the created file and the stage lands in it', async () => {
    const tmp = join(dir, '.update.signed.partial');
    const out = await StagedOutput.create(tmp);
    await out.writeStage(Buffer.alloc(STAGE_BYTES, 0x5a), 0);
    await out.finish(STAGE_BYTES);
    expect(readFileSync(tmp).equals(Buffer.alloc(STAGE_BYTES, 0x5a))).toBe(true);
  });
});
