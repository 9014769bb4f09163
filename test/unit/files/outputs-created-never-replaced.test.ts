/**
 * Outputs are created, never replaced (issue 12, item 5): a file or symlink planted at an output's name
 * after the ceremony's early "already exists?" check and before the late write is neither overwritten
 * nor followed — for a single output (files.ts), the staged outputs of init/renew (StagedOutputs), and
 * the record's own files (manifest.json, log.jsonl.asc, keys/).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileExclusive } from '../../../ceremony/files.js';
import { StagedOutputs } from '../../../ceremony/ceremonies/quorum-common.js';
import { CeremonyRecord } from '../../../ceremony/audit/record.js';
import { makeOpenpgpSealer } from '../../helpers/openpgp-sealer.js';

let dir: string;
let victim: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outputs-exclusive-'));
  victim = join(dir, 'victim.txt');
  writeFileSync(victim, 'precious');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** What an attacker plants at `path`: a file, a symlink to the victim, or a dangling symlink. */
const plants: [string, (path: string) => void][] = [
  ['a planted file', (p) => writeFileSync(p, 'planted')],
  ['a planted symlink to another file', (p) => symlinkSync(victim, p)],
  ['a planted dangling symlink', (p) => symlinkSync(join(dir, 'nowhere', 'file'), p)],
];

function expectUntouched(path: string, kind: string): void {
  expect(readFileSync(victim, 'utf8')).toBe('precious');
  if (kind === 'a planted file') expect(readFileSync(path, 'utf8')).toBe('planted');
  else expect(lstatSync(path).isSymbolicLink()).toBe(true);
  expect(existsSync(join(dir, 'nowhere'))).toBe(false);
}

describe('a single output (files.ts createFileExclusive)', () => {
  for (const [kind, plant] of plants) {
    it(`${kind} at the output name is neither replaced nor followed: OUTPUT_EXISTS`, () => {
      const out = join(dir, 'release.sig');
      plant(out);
      expect(() => createFileExclusive(out, 'signature')).toThrow(expect.objectContaining({ code: 'OUTPUT_EXISTS' }));
      expectUntouched(out, kind);
      expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
    });
  }

  it('creates the file when nothing is there', () => {
    const out = join(dir, 'new.sig');
    createFileExclusive(out, 'signature', 0o600);
    expect(readFileSync(out, 'utf8')).toBe('signature');
    expect(lstatSync(out).mode & 0o777).toBe(0o600);
  });
});

describe('init/renew outputs (StagedOutputs.commit)', () => {
  for (const [kind, plant] of plants) {
    it(`${kind} at an output name after assertFree: the commit refuses and takes back what it moved`, () => {
      const outDir = join(dir, 'out');
      StagedOutputs.assertFree(outDir, ['certificate.asc', 'shares']);
      const staged = new StagedOutputs(outDir);
      staged.write('root.fingerprint', 'ABCD\n');
      staged.write('shares/alice.share', 'share', 0o600);
      staged.write('certificate.asc', 'cert');
      // Planted between the early check and the commit.
      plant(join(outDir, 'certificate.asc'));
      expect(() => staged.commit()).toThrow(expect.objectContaining({ code: 'OUTPUT_EXISTS' }));
      expectUntouched(join(outDir, 'certificate.asc'), kind);
      // All or nothing: the files moved before the refusal are taken back, the staging folder is gone.
      expect(existsSync(join(outDir, 'root.fingerprint'))).toBe(false);
      expect(existsSync(join(outDir, 'shares', 'alice.share'))).toBe(false);
      expect(readdirSync(outDir).filter((f) => f.startsWith('.staging-'))).toEqual([]);
    });
  }
});

describe("the record's own files", () => {
  function openRecord(): CeremonyRecord {
    return CeremonyRecord.create({
      recordDir: join(dir, 'records'),
      kind: 'payload-sign',
      attended: false,
      parameters: { command: 'ceremony payload sign', options: [], toolVersion: 'test', host: { airGapped: true, interfacesUp: [], overridden: false }, overrides: [] },
    });
  }

  for (const name of ['manifest.json', 'log.jsonl.asc']) {
    for (const [kind, plant] of plants) {
      it(`${kind} as ${name} before the seal is neither replaced nor followed`, async () => {
        const sealer = await makeOpenpgpSealer();
        const record = openRecord();
        record.append({ step: 'verify-input', detail: 'checked' });
        plant(join(record.dir, name));
        await expect(record.seal(sealer)).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
        expectUntouched(join(record.dir, name), kind);
      });
    }
  }

  it('a symlink planted in keys/ is not followed when a certificate is added', async () => {
    const sealer = await makeOpenpgpSealer();
    const record = openRecord();
    const name = `seal-${sealer.fingerprint.slice(-16)}.asc`;
    mkdirSync(join(record.dir, 'keys'), { recursive: true });
    symlinkSync(join(dir, 'nowhere', 'cert'), join(record.dir, 'keys', name));
    await expect(record.seal(sealer)).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
    expect(readlinkSync(join(record.dir, 'keys', name))).toBe(join(dir, 'nowhere', 'cert'));
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  });
});
