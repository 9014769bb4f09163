/**
 * Special files as input (issue 12, item 6): every input the ceremony reads — payloads, release files,
 * certificates, public keys, share files, the config — is opened without blocking (O_NONBLOCK) and
 * checked on its descriptor, so a FIFO with no writer, a device or a folder is refused at once with
 * INPUT_UNREADABLE (exit 2). A hang fails the test by its timeout; nothing here measures time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegularFile, readInputFile } from '../../../ceremony/files.js';
import { openPayloadSource } from '../../../ceremony/payload/format.js';
import { loadConfig } from '../../../ceremony/config.js';
import { loadTrustedCertificates } from '../../../ceremony/openpgp/verify/certificate.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'special-files-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function fifo(name: string): string {
  const p = join(dir, name);
  execFileSync('mkfifo', [p]);
  return p;
}

const refused = { code: 'INPUT_UNREADABLE', message: expect.stringMatching(/not a regular file/) };

describe('a FIFO with no writer is refused at once, never waited on', () => {
  it('as a small input (certificate, public key, share file, DIGESTS): readInputFile', () => {
    expect(() => readInputFile(fifo('cert.asc'), 'certificate')).toThrow(expect.objectContaining(refused));
  }, 20_000);

  it('behind a symlink', () => {
    const link = join(dir, 'link');
    symlinkSync(fifo('target'), link);
    expect(() => readInputFile(link, 'share file')).toThrow(expect.objectContaining(refused));
  }, 20_000);

  it('as a payload (payload sign and payload verify open it through openPayloadSource)', async () => {
    await expect(openPayloadSource(fifo('update.unsigned'), 'the payload')).rejects.toMatchObject(refused);
  }, 20_000);

  it('as a large input opened for positional reads', async () => {
    await expect(openRegularFile(fifo('big'), 'release file')).rejects.toMatchObject(refused);
  }, 20_000);

  it('as a pinned certificate (--trusted-key)', async () => {
    await expect(loadTrustedCertificates([fifo('build-server.asc')])).rejects.toMatchObject({ code: 'INPUT_UNREADABLE' });
  }, 20_000);

  it('as the config file', () => {
    expect(() => loadConfig(fifo('ceremony.json'))).toThrow(expect.objectContaining({ code: 'INPUT_UNREADABLE' }));
  }, 20_000);
});

describe('other special files', () => {
  it('a character device (/dev/zero, which would never end) is refused', () => {
    expect(() => readInputFile('/dev/zero', 'share file')).toThrow(expect.objectContaining(refused));
  });

  it('a folder is refused', async () => {
    mkdirSync(join(dir, 'folder'));
    expect(() => readInputFile(join(dir, 'folder'), 'certificate')).toThrow(expect.objectContaining(refused));
    await expect(openPayloadSource(join(dir, 'folder'), 'the payload')).rejects.toMatchObject(refused);
  });
});
