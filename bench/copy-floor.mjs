#!/usr/bin/env node
/**
 * The disk's share of `payload sign`, measured alone: copy INPUT to a new file OUT with the ceremony's own
 * writer (dist/ceremony/payload/output-file.js: its stages, O_DIRECT, every ready stage in flight,
 * fsync at the end) and nothing else: no hashing, no token, no record, no signature. Every signer that
 * writes the signed payload must at least do this, so `bench/sign.mjs` reports its time beside
 * `sha256sum`'s as the floor of the ratio on this machine.
 *
 *   node bench/copy-floor.mjs INPUT OUT
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { StagedOutput, STAGE_BYTES } = await import(join(ROOT, 'dist/ceremony/payload/output-file.js'));

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write('usage: node bench/copy-floor.mjs INPUT OUT\n');
  process.exit(2);
}
const src = await open(input, 'r');
const out = await StagedOutput.create(output);
try {
  const { size } = await src.stat();
  const count = Math.ceil(size / STAGE_BYTES);
  const n = out.stages.length;
  const released = [];
  for (let i = 0; i < count; i++) {
    // The same pipeline as the signing pass: a stage is refilled once its previous write is done.
    await released[i - n];
    const stage = out.stages[i % n];
    const len = Math.min(STAGE_BYTES, size - i * STAGE_BYTES);
    let at = 0;
    while (at < len) {
      const { bytesRead } = await src.read(stage, at, len - at, i * STAGE_BYTES + at);
      if (bytesRead === 0) throw new Error(`${input} changed size while it was copied`);
      at += bytesRead;
    }
    const chunk = stage.subarray(0, len);
    released.push(len === STAGE_BYTES ? out.writeStage(chunk, i * STAGE_BYTES) : out.writeTail(chunk, i * STAGE_BYTES));
  }
  await Promise.all(released);
  await out.finish(size);
} finally {
  await out.close();
  await src.close();
}
