/**
 * A signing pass started before the keys are settled (ceremony/payload/pending.ts): taken, it must give the
 * very payload a pass started with the keys gives (byte for byte, the delta_generator vector); started for
 * other sizes than the keys have, it is thrown away and the pass made again; abandoned at any point, it
 * leaves nothing beside the output; and a pass that fails is the caller's failure only once taken.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VECTORS } from '../../helpers/cli.js';
import { nodeSigner } from '../../helpers/node-signer.js';
import type { DigestSigner } from '../../../ceremony/signer.js';
import { PendingDraft, signPayload, verifyPayload, type Progress } from '../../../ceremony/payload/index.js';
import type { OpenPayloadSource } from '../../../ceremony/payload/format.js';
import { openPayloadSource } from '../../../ceremony/payload/format.js';
import { makeUnsignedPayload } from './make-payload.js';

const CRAU = join(VECTORS, 'crau');
const UNSIGNED = join(CRAU, 'update.unsigned');
const DEV_PRIV = readFileSync(join(VECTORS, 'flatcar-keys/developer-v1.key.pem'), 'utf8');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'payload-pending-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A source whose blob reads wait until `release()` (the header and manifest are read at once). */
function heldSource(): { open: OpenPayloadSource; release: () => void; reads: () => number } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let reads = 0;
  const open: OpenPayloadSource = async (path, what) => {
    const real = await openPayloadSource(path, what);
    return {
      size: real.size,
      async read(buffer, offset, length, position) {
        if (++reads > 2) await gate;
        return real.read(buffer, offset, length, position);
      },
      close: () => real.close(),
    };
  };
  return { open, release, reads: () => reads };
}

describe('a pass started before the keys are settled', () => {
  it('taken by keys of the sizes it reserved: exactly update.signed, as without it', async () => {
    const out = join(dir, 'update.signed');
    const pending = PendingDraft.start([256], { input: UNSIGNED, output: out });
    const r = await signPayload({ input: UNSIGNED, output: out, signers: [nodeSigner(DEV_PRIV, 'developer-v1')], pending });
    expect(readFileSync(out).equals(readFileSync(join(CRAU, 'update.signed')))).toBe(true);
    expect(r.signedHash.equals(readFileSync(join(CRAU, 'update.hash')))).toBe(true);
    expect(readdirSync(dir)).toEqual(['update.signed']);
    await pending.abandon(); // after a commit: leaves the output alone
    expect(readdirSync(dir)).toEqual(['update.signed']);
  });

  it('started for another size than the key has: thrown away and made again, and the payload is the one update_engine accepts', async () => {
    const out = join(dir, 'update.signed');
    const pending = PendingDraft.start([512], { input: UNSIGNED, output: out });
    expect(pending.fits(UNSIGNED, out, [256])).toBe(false);
    await signPayload({ input: UNSIGNED, output: out, signers: [nodeSigner(DEV_PRIV, 'developer-v1')], pending });
    expect(readFileSync(out).equals(readFileSync(join(CRAU, 'update.signed')))).toBe(true);
    expect(readdirSync(dir)).toEqual(['update.signed']);
  });

  it('a different number of signatures, or one size of several differing, does not fit; several keys of its sizes do', async () => {
    const pending = PendingDraft.start([256, 512], { input: UNSIGNED, output: join(dir, 'o') });
    expect(pending.fits(UNSIGNED, join(dir, 'o'), [256])).toBe(false);
    expect(pending.fits(UNSIGNED, join(dir, 'o'), [512, 256])).toBe(false);
    expect(pending.fits(UNSIGNED, join(dir, 'o'), [256, 256])).toBe(false);
    expect(pending.fits(UNSIGNED, join(dir, 'other'), [256, 512])).toBe(false);
    expect(pending.fits(UNSIGNED, join(dir, 'o'), [256, 512])).toBe(true);
    const keys: DigestSigner[] = [nodeSigner(DEV_PRIV, 'a'), nodeSigner(generateKeyPairSync('rsa', { modulusLength: 4096 }).privateKey, 'b')];
    const r = await signPayload({ input: UNSIGNED, output: join(dir, 'o'), signers: keys, pending });
    expect(r.signatures.map((s) => s.bytes)).toEqual([256, 512]);
    const v = await verifyPayload(join(dir, 'o'), [keys[1]!.publicKey]);
    expect(v.ok).toBe(true);
  });

  it('started for another output than the one signed: thrown away, and only the asked-for output is written', async () => {
    const pending = PendingDraft.start([256], { input: UNSIGNED, output: join(dir, 'elsewhere') });
    const out = join(dir, 'update.signed');
    await signPayload({ input: UNSIGNED, output: out, signers: [nodeSigner(DEV_PRIV, 'developer-v1')], pending });
    expect(readFileSync(out).equals(readFileSync(join(CRAU, 'update.signed')))).toBe(true);
    expect(readdirSync(dir)).toEqual(['update.signed']);
  });

  it('started for another input with the same output: thrown away, and the output is the asked-for input signed', async () => {
    const other = join(dir, 'other.unsigned');
    makeUnsignedPayload(other, 64 * 1024);
    const out = join(dir, 'update.signed');
    const pending = PendingDraft.start([256], { input: other, output: out });
    expect(pending.fits(UNSIGNED, out, [256])).toBe(false);
    await signPayload({ input: UNSIGNED, output: out, signers: [nodeSigner(DEV_PRIV, 'developer-v1')], pending });
    expect(readFileSync(out).equals(readFileSync(join(CRAU, 'update.signed')))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['other.unsigned', 'update.signed']);
  });

  it("stopped by the caller's signal (SIGINT or SIGTERM in the CLI) while it reads: CANCELLED, its temp file removed", async () => {
    const input = join(dir, 'big.unsigned');
    makeUnsignedPayload(input, 6 * 1024 * 1024);
    const held = heldSource();
    const interrupt = new AbortController();
    const pending = PendingDraft.start([256], { input, output: join(dir, 'big.signed'), openInput: held.open, signal: interrupt.signal });
    for (let i = 0; i < 200 && !readdirSync(dir).some((f) => f.endsWith('.partial')); i++) await new Promise((r) => setTimeout(r, 10));
    expect(readdirSync(dir).some((f) => f.endsWith('.partial'))).toBe(true);
    interrupt.abort();
    held.release();
    await expect(pending.take()).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(readdirSync(dir)).toEqual(['big.unsigned']);
  });

  it('abandoned while it reads: stopped, its temp file removed, no output', async () => {
    const input = join(dir, 'big.unsigned');
    makeUnsignedPayload(input, 6 * 1024 * 1024);
    const held = heldSource();
    const pending = PendingDraft.start([256], { input, output: join(dir, 'big.signed'), openInput: held.open });
    // The temp file exists once the pass is under way (its blob reads are held).
    for (let i = 0; i < 200 && !readdirSync(dir).some((f) => f.endsWith('.partial')); i++) await new Promise((r) => setTimeout(r, 10));
    expect(readdirSync(dir).some((f) => f.endsWith('.partial'))).toBe(true);
    const abandoned = pending.abandon();
    held.release();
    await abandoned;
    expect(readdirSync(dir)).toEqual(['big.unsigned']);
    // Taking it afterwards gives the cancellation, never a signature.
    await expect(pending.take()).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('abandoned before it was taken, after it finished: the temp file is removed', async () => {
    const pending = PendingDraft.start([256], { input: UNSIGNED, output: join(dir, 'o') });
    const draft = await pending.take();
    expect(readdirSync(dir)).toHaveLength(1);
    expect(draft.hash.equals(readFileSync(join(CRAU, 'update.hash')))).toBe(true);
    await pending.abandon();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a pass that fails is reported only to whoever takes it, with its own code', async () => {
    const signed = join(dir, 'already.signed');
    copyFileSync(join(CRAU, 'update.signed'), signed);
    const pending = PendingDraft.start([256], { input: signed, output: join(dir, 'o') });
    // Nobody awaits it yet: no unhandled rejection may escape (vitest fails the run on one).
    await new Promise((r) => setTimeout(r, 50));
    await expect(signPayload({ input: signed, output: join(dir, 'o'), signers: [nodeSigner(DEV_PRIV)], pending })).rejects.toMatchObject({ code: 'PAYLOAD_ALREADY_SIGNED' });
    expect(readdirSync(dir)).toEqual(['already.signed']);
    await pending.abandon(); // never throws
  });

  it('keeps its progress until taken, then reports the latest at once and the rest as it goes', async () => {
    const input = join(dir, 'big.unsigned');
    makeUnsignedPayload(input, 3 * 1024 * 1024 + 5);
    const held = heldSource();
    const pending = PendingDraft.start([256], { input, output: join(dir, 'big.signed'), openInput: held.open });
    for (let i = 0; i < 200 && held.reads() < 3; i++) await new Promise((r) => setTimeout(r, 10));
    const seen: Progress[] = [];
    const taken = pending.take((p) => seen.push(p));
    // The latest before the take (the metadata) comes at once.
    expect(seen.length).toBe(1);
    expect(seen[0]!.bytes).toBeLessThan(seen[0]!.total);
    held.release();
    const draft = await taken;
    expect(seen.at(-1)).toEqual({ bytes: draft.inputSize, total: draft.inputSize });
    await pending.abandon();
    expect(readdirSync(dir)).toEqual(['big.unsigned']);
  });

  it('taken before the pass has reported anything: nothing is reported until there is progress', async () => {
    const pending = PendingDraft.start([256], { input: UNSIGNED, output: join(dir, 'o') });
    const seen: (Progress | undefined)[] = [];
    const taken = pending.take((p) => seen.push(p));
    expect(seen).toEqual([]);
    const draft = await taken;
    expect(seen.length).toBeGreaterThan(0);
    for (const p of seen) expect(p).toMatchObject({ total: draft.inputSize });
    await pending.abandon();
  });

  it('a signer of an unsuitable size is refused before anything is signed, and the pass is abandoned', async () => {
    const out = join(dir, 'o');
    const pending = PendingDraft.start([128], { input: UNSIGNED, output: out });
    const small = nodeSigner(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey, 'small');
    const odd: DigestSigner = { ...small, modulusBits: 1020 };
    await expect(signPayload({ input: UNSIGNED, output: out, signers: [odd], pending })).rejects.toMatchObject({ code: 'KEY_UNSUITABLE' });
    expect(readdirSync(dir)).toEqual([]);
  });
});
