/**
 * The record as an auditor meets it: `ceremony audit verify/report` run as the real binary, the seal
 * checked by GnuPG, the chain checked by the script printed in docs/RECORD-FORMAT.md, and a writer
 * killed with SIGKILL leaving an incomplete (not tampered) record.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CEREMONY_KINDS, type EventInput } from '../../../ceremony/audit/events.js';
import { reviewRecord } from '../../../ceremony/audit/review.js';
import { REPO, expectCleanError, runCeremony } from '../../helpers/cli.js';
import { makeOpenpgpSealer, type TestSealer } from '../../helpers/openpgp-sealer.js';
import { sampleEvents, writeSampleRecord, type SampleFiles } from '../../helpers/audit-records.js';

let sealer: TestSealer;
let forger: TestSealer;
const dirs: string[] = [];
const work = () => {
  const d = mkdtempSync(join(tmpdir(), 'audit-int-'));
  dirs.push(d);
  return d;
};
beforeAll(async () => {
  sealer = await makeOpenpgpSealer('Ceremony Seal');
  forger = await makeOpenpgpSealer('Forger');
});
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function gpg(home: string, args: string[]) {
  const r = spawnSync('gpg', ['--homedir', home, '--batch', '--no-tty', '--pinentry-mode', 'loopback', ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function withGnupgHome<T>(fn: (home: string) => T): T {
  const home = mkdtempSync(join(tmpdir(), 'audit-gnupg-'));
  try {
    return fn(home);
  } finally {
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
    rmSync(home, { recursive: true, force: true });
  }
}

/** The auditor's script, taken verbatim from the format description. */
function docScript(): string {
  const doc = readFileSync(join(REPO, 'docs/RECORD-FORMAT.md'), 'utf8');
  const m = doc.match(/```python\n([\s\S]*?)```/);
  if (!m) throw new Error('docs/RECORD-FORMAT.md has no python block');
  return m[1]!;
}

describe('the seal is a detached OpenPGP signature GnuPG verifies with the certificates in keys/', () => {
  for (const kind of CEREMONY_KINDS) {
    it(`gpg --verify log.jsonl.asc log.jsonl succeeds for a ${kind} record and fails once a byte of the log changes`, async () => {
      const dir = await writeSampleRecord(work(), kind, sealer);
      withGnupgHome((home) => {
        for (const f of readdirSync(join(dir, 'keys'))) expect(gpg(home, ['--import', join(dir, 'keys', f)]).code).toBe(0);
        const ok = gpg(home, ['--status-fd', '1', '--verify', join(dir, 'log.jsonl.asc'), join(dir, 'log.jsonl')]);
        expect(ok.code, ok.stderr).toBe(0);
        expect(ok.stdout).toMatch(new RegExp(`\\[GNUPG:\\] VALIDSIG ${sealer.fingerprint}`));
        const log = readFileSync(join(dir, 'log.jsonl'));
        log[log.length - 3] ^= 1;
        writeFileSync(join(dir, 'log.jsonl'), log);
        const bad = gpg(home, ['--status-fd', '1', '--verify', join(dir, 'log.jsonl.asc'), join(dir, 'log.jsonl')]);
        expect(bad.code).not.toBe(0);
        expect(bad.stdout).toContain('BADSIG');
      });
    });
  }
});

describe('the check script in docs/RECORD-FORMAT.md', () => {
  it('accepts an intact record and names a chain break in an edited one', async () => {
    const dir = await writeSampleRecord(work(), 'renew', sealer);
    const script = join(work(), 'check-record.py');
    writeFileSync(script, docScript());
    const ok = spawnSync('python3', [script, dir], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^chain ok: \d+ lines, ceremony [0-9a-f]{32} \(renew\), result ok/);
    const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8').split('\n');
    lines[4] = lines[4]!.replace('"custodian"', '"maintainer"');
    writeFileSync(join(dir, 'log.jsonl'), lines.join('\n'));
    const bad = spawnSync('python3', [script, dir], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe('chain break at line 6');
  });

  it('never passes an unsealed log: a PIN refusal that could not be sealed and a killed ceremony each exit 1 with their own sentence', async () => {
    const script = join(work(), 'check-record.py');
    writeFileSync(script, docScript());
    const upToLogin = (f: SampleFiles) => {
      const evs = sampleEvents('sign', f);
      return evs.slice(0, evs.findIndex((e) => e.step === 'hsm-login') + 1);
    };
    const failedLogin: EventInput = { step: 'hsm-login', result: 'failed', code: 'PIN_INCORRECT', detail: "wrong PIN for token 'signing'" };
    const refused = await writeSampleRecord(work(), 'sign', undefined, { events: (f) => [...upToLogin(f), failedLogin] });
    const r = spawnSync('python3', [script, refused], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^unsealed: the log ends failed \(ceremony stopped: step hsm-login failed; .*\); nothing proves its author or its end$/);
    const killed = await writeSampleRecord(work(), 'sign', undefined, { events: upToLogin });
    const k = spawnSync('python3', [script, killed], { encoding: 'utf8' });
    expect(k.status).toBe(1);
    expect(k.stderr.trim()).toBe('incomplete, stopped after step hsm-login');
  });
});

describe('ceremony audit verify (the real binary)', () => {
  it('exits 0 for an intact record sealed by the pinned key, with --json', async () => {
    const w = work();
    const dir = await writeSampleRecord(w, 'sign', sealer);
    writeFileSync(join(w, 'seal.asc'), sealer.certificateArmored);
    const run = runCeremony(['audit', 'verify', dir, '--trusted-key', join(w, 'seal.asc')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^intact: .*, a pinned certificate; the ceremony completed$/m);
    expect(run.stderr).toBe('');
    const json = runCeremony(['--json', 'audit', 'verify', dir, '--trusted-key', join(w, 'seal.asc')]);
    expect(json.code).toBe(0);
    expect(json.json()).toMatchObject({ ok: true, verdict: 'intact', kind: 'sign', outcome: 'completed', seal: { valid: true, pinned: true } });
  });

  it('a forged record re-sealed by another key is refused (exit 1, AUDIT_FAILED, seal-untrusted named)', async () => {
    const w = work();
    const dir = await writeSampleRecord(w, 'payload-sign', sealer);
    writeFileSync(join(dir, 'keys', 'forger.asc'), forger.certificateArmored);
    writeFileSync(join(dir, 'log.jsonl.asc'), await forger.sign(readFileSync(join(dir, 'log.jsonl'))));
    writeFileSync(join(w, 'seal.asc'), sealer.certificateArmored);
    const run = runCeremony(['audit', 'verify', dir, '--trusted-key', join(w, 'seal.asc')]);
    expectCleanError(run, 'AUDIT_FAILED', 1);
    expect(run.stdout).toContain('seal-untrusted');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('an edited line is refused with each finding named on stdout and one error line', async () => {
    const dir = await writeSampleRecord(work(), 'init', sealer);
    const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8').split('\n');
    lines[2] = lines[2]!.replace('"ok"', '"warning"');
    writeFileSync(join(dir, 'log.jsonl'), lines.join('\n'));
    const run = runCeremony(['audit', 'verify', dir]);
    expectCleanError(run, 'AUDIT_FAILED', 1);
    expect(run.stderr).toMatch(/^error\[AUDIT_FAILED\]: the record is tampered: \d+ finding\(s\)/);
    expect(run.stdout).toContain('chain-break (line 4)');
    expect(run.stdout).toContain('seal-invalid');
    const json = runCeremony(['audit', 'verify', dir, '--json']);
    expect(json.code).toBe(1);
    const parsed = json.json<{ ok: boolean; error: { code: string; verdict: string; findings: { code: string; line?: number }[] } }>();
    expect(parsed.ok).toBe(false);
    expect(parsed.error.code).toBe('AUDIT_FAILED');
    expect(parsed.error.verdict).toBe('tampered');
    expect(parsed.error.findings).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'chain-break', line: 4 }), expect.objectContaining({ code: 'seal-invalid' })]));
  });

  it('a folder that is not a record exits 2 (RECORD_MALFORMED); a --trusted-key that is not a certificate exits 2', async () => {
    const w = work();
    expectCleanError(runCeremony(['audit', 'verify', w]), 'RECORD_MALFORMED', 2);
    expectCleanError(runCeremony(['audit', 'verify', join(w, 'missing')]), 'RECORD_MALFORMED', 2);
    const dir = await writeSampleRecord(w, 'sign', sealer);
    writeFileSync(join(w, 'junk.asc'), 'hello');
    expectCleanError(runCeremony(['audit', 'verify', dir, '--trusted-key', join(w, 'junk.asc')]), 'CERTIFICATE_MALFORMED', 2);
    expectCleanError(runCeremony(['audit', 'verify']), 'USAGE', 2);
  });

  it('ceremony audit report writes a self-contained HTML page', async () => {
    const w = work();
    const dir = await writeSampleRecord(w, 'renew', sealer);
    const out = join(w, 'report.html');
    const run = runCeremony(['audit', 'report', dir, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const html = readFileSync(out, 'utf8');
    // nothing pinned: never the green badge
    expect(html).toContain('<span class="verdict v-unpinned" id="verdict" data-verdict="intact">Intact (seal not pinned)</span>');
    expect(html).toContain(sealer.fingerprint);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
  });
});

describe('a writer killed mid-way (SIGKILL)', () => {
  const child = `
    const { CeremonyRecord } = await import(${JSON.stringify(pathToFileURL(join(REPO, 'dist/ceremony/audit/record.js')).href)});
    const r = CeremonyRecord.create({ recordDir: process.argv[2], kind: 'sign', attended: false, parameters: {
      command: 'ceremony sign', options: [], toolVersion: '0.1.0',
      host: { airGapped: true, interfacesUp: [], overridden: false }, overrides: [] } });
    process.stdout.write(r.dir + '\\n');
    for (let i = 0; ; i++) {
      r.append({ step: i % 2 ? 'verify-input' : 'show-fingerprints', detail: 'event ' + i,
        inputs: [{ name: 'file-' + i, sha256: (i % 16).toString(16).repeat(64), size: i }] });
    }`;

  async function killWriterAfter(lines: number): Promise<string> {
    const w = work();
    const script = join(w, 'writer.mjs');
    writeFileSync(script, child);
    const proc = spawn(process.execPath, [script, join(w, 'records')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((res) => proc.on('exit', (_c, sig) => res(sig)));
    // Wait (no time limit but the test's) until the writer has written enough lines, then kill it.
    for (;;) {
      await new Promise((r) => setTimeout(r, 10));
      const dir = out.split('\n')[0];
      if (dir && existsSync(join(dir, 'log.jsonl')) && readFileSync(join(dir, 'log.jsonl'), 'utf8').split('\n').length > lines) break;
      if (proc.exitCode !== null) throw new Error(`writer exited early: ${proc.exitCode}`);
    }
    proc.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    return out.split('\n')[0]!;
  }

  it('leaves a record that reviews as incomplete with its last step named, no partial file, no tampering finding', async () => {
    for (const n of [5, 40, 200]) {
      const dir = await killWriterAfter(n);
      const r = await reviewRecord(dir);
      expect(r.verdict, r.summary).toBe('incomplete');
      expect(r.summary).toMatch(/^incomplete, stopped after step (verify-input|show-fingerprints) \(line \d+\)$/);
      expect(r.lineCount).toBeGreaterThanOrEqual(n);
      expect(r.findings.filter((f) => f.class === 'tampered' || f.class === 'policy')).toEqual([]);
      expect(readdirSync(dir).sort()).toEqual(['keys', 'log.jsonl']);
      expect(readFileSync(join(dir, 'log.jsonl'), 'utf8').endsWith('\n')).toBe(true);
      const cli = runCeremony(['audit', 'verify', dir]);
      expectCleanError(cli, 'AUDIT_FAILED', 1);
      expect(cli.stderr).toContain('the record is incomplete');
    }
  });

  it('is distinguishable from a tampered one: the same killed record with a line removed is tampered', async () => {
    const dir = await killWriterAfter(30);
    const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8').split('\n');
    lines.splice(10, 1);
    writeFileSync(join(dir, 'log.jsonl'), lines.join('\n'));
    const r = await reviewRecord(dir);
    expect(r.verdict).toBe('tampered');
    expect(r.findings.find((f) => f.code === 'chain-break')?.line).toBe(11);
    expect(r.findings.find((f) => f.code === 'sequence-gap')?.line).toBe(11);
  });
});
