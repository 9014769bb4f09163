/**
 * The other readers of untrusted paths that checked a path and read it again, or read it with no limit
 * (issue 12, item 6's siblings): PIN files, the record writer's file hashes, the app's inbox sniffing, a
 * document hashed for a signature, `build-key --key-file -`. Each now opens once without blocking and reads
 * from the checked descriptor (ceremony/files.ts). The code under attack runs compiled (dist/) in a child
 * killed after a safety timeout, so a regression that blocks fails (exit null) instead of hanging.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dist, runCeremonyBounded, runModuleBounded, type BoundedRun } from '../../helpers/bounded-child.js';
import { makeGpgHome } from '../../helpers/gpg.js';
import { expectCleanError, runCeremony } from '../../helpers/cli.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'descriptor-checked-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function fifo(name: string): string {
  const p = join(dir, name);
  execFileSync('mkfifo', [p]);
  return p;
}

/** Run `call` (an expression awaiting the code under test) in a child; it prints the refusal's code or 'ok'. */
function attempt(imports: string, call: string): Promise<BoundedRun> {
  return runModuleBounded(`${imports}\ntry { await (${call}); console.log('ok'); } catch (e) { console.log(e.code ?? e.message); }`);
}

function expectRefusedWith(r: BoundedRun, code: string): void {
  expect(r.killed, `the child blocked and was killed\n${r.stderr}`).toBe(false);
  expect(r.stdout.trim(), r.stderr).toBe(code);
}

describe('PIN files', () => {
  const imports = `import { filePinSource } from '${dist('ceremony/hsm/pin.js')}';`;

  it('a PIN file that is a FIFO is refused (PIN_UNAVAILABLE), never waited on', async () => {
    expectRefusedWith(await attempt(imports, `filePinSource(${JSON.stringify(fifo('pin'))}).read('PIN: ')`), 'PIN_UNAVAILABLE');
  }, 60_000);

  it('a PIN file that is a symlink to /dev/zero is refused, never read without end', async () => {
    symlinkSync('/dev/zero', join(dir, 'pin'));
    expectRefusedWith(await attempt(imports, `filePinSource(${JSON.stringify(join(dir, 'pin'))}).read('PIN: ')`), 'PIN_UNAVAILABLE');
  }, 60_000);

  it('a control: a regular PIN file is read', async () => {
    writeFileSync(join(dir, 'pin'), '123456\n');
    expectRefusedWith(await attempt(imports, `filePinSource(${JSON.stringify(join(dir, 'pin'))}).read('PIN: ')`), 'ok');
  }, 60_000);
});

describe('files hashed by path', () => {
  it('the record writer hashing an input that is a FIFO refuses it (INPUT_UNREADABLE), never waits', async () => {
    const imports = `import { describeFile } from '${dist('ceremony/audit/record.js')}';`;
    expectRefusedWith(await attempt(imports, `describeFile(${JSON.stringify(fifo('input.bin'))})`), 'INPUT_UNREADABLE');
  }, 60_000);

  it('a document hashed for a signature that is a FIFO is refused (INPUT_UNREADABLE)', async () => {
    const imports = `import { digestWithSuffix } from '${dist('ceremony/openpgp/build/detached.js')}';`;
    expectRefusedWith(await attempt(imports, `digestWithSuffix(${JSON.stringify(fifo('doc'))}, 'sha512', new Uint8Array(0))`), 'INPUT_UNREADABLE');
  }, 60_000);

  it("the app's inbox sniffing a FIFO put in the inbox refuses it (INPUT_UNREADABLE)", async () => {
    const imports = `import { headOf } from '${dist('ceremony/release/inbox.js')}';`;
    expectRefusedWith(await attempt(imports, `headOf(${JSON.stringify(fifo('update.gz'))})`), 'INPUT_UNREADABLE');
  }, 60_000);
});

describe('build-key --key-file - (standard input)', () => {
  it('a key on standard input larger than the limit is refused (INPUT_MALFORMED), not read whole', () => {
    writeFileSync(join(dir, 'root.asc'), 'placeholder: the key is read and refused before this is parsed\n');
    const run = runCeremony(['build-key', 'request', '--root-cert', join(dir, 'root.asc'), '--key-file', '-', '--out', join(dir, 'req.asc')], { input: Buffer.alloc(2 << 20, 0x41) });
    expectCleanError(run, 'INPUT_MALFORMED', 2);
    expect(run.stderr).toMatch(/standard input is larger than/);
  });

  it('a file planted at --out after the early "exists?" check is not replaced (OUTPUT_EXISTS, exit 2)', async () => {
    const gpg = makeGpgHome();
    try {
      const fpr = (uid: string) => gpg.run(['--with-colons', '--list-keys', uid]).stdout.split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9]!;
      for (const [uid, algo, use] of [['Root <root@example.invalid>', 'ed25519', 'cert'], ['Build <build@example.invalid>', 'rsa3072', 'sign']] as const) {
        expect(gpg.run(['--passphrase', '', '--quick-gen-key', uid, algo, use, '2y']).code).toBe(0);
      }
      writeFileSync(join(dir, 'root.asc'), gpg.run(['--armor', '--export', fpr('root@example.invalid')]).stdout);
      writeFileSync(join(dir, 'build.key'), gpg.run(['--armor', '--export-secret-keys', fpr('build@example.invalid')]).stdout);
      const args = (out: string) => ['build-key', 'request', '--root-cert', join(dir, 'root.asc'), '--key-file', join(dir, 'build.key'), '--out', out];
      // A control: nothing there, the request is written.
      const made = await runCeremonyBounded(args(join(dir, 'request.asc')));
      expect(made.code, made.stderr).toBe(0);
      // Planted: the early check sees nothing (absentPaths), the file is there when the request is written.
      const planted = join(dir, 'planted.asc');
      writeFileSync(planted, 'planted by someone else\n');
      const r = await runCeremonyBounded(args(planted), { absentPaths: [planted] });
      expect(r.killed).toBe(false);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^error\[OUTPUT_EXISTS\]: /m);
      expect(readFileSync(planted, 'utf8')).toBe('planted by someone else\n');
    } finally {
      gpg.cleanup();
    }
  }, 120_000);
});
