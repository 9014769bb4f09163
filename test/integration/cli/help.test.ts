/**
 * Help for users (issue 13): help texts and usage errors speak of the README and the command's own
 * `--help`, never of design documents people do not have.
 */
import { describe, expect, it } from 'vitest';
import { runCeremony } from '../../helpers/cli.js';

const COMMANDS = ['', 'hsm', 'hsm slots', 'hsm keys', 'key', 'key generate', 'key export', 'verify', 'sign', 'payload', 'payload sign', 'payload verify', 'config', 'config example', 'init', 'renew', 'shares', 'shares check', 'audit', 'audit verify', 'audit report', 'demo'];

describe('help', () => {
  it('no help text cites DESIGN; each exits 0', () => {
    for (const c of COMMANDS) {
      const run = runCeremony([...c.split(' ').filter(Boolean), '--help']);
      expect(run.code, c).toBe(0);
      expect(run.stdout + run.stderr, c).not.toMatch(/DESIGN/);
    }
  });

  it("a usage error points to the typed command's own --help", () => {
    expect(runCeremony(['sign', '--out-dir', 'x']).stderr).toMatch(/^error\[USAGE\]: .*\(see ceremony sign --help, or the README\)\.$/m);
    expect(runCeremony(['audit', 'verify']).stderr).toMatch(/\(see ceremony audit verify --help, or the README\)\.$/m);
    expect(runCeremony(['payload', 'sign', 'p.bin']).stderr).toMatch(/\(see ceremony payload sign --help, or the README\)\.$/m);
    expect(runCeremony(['no-such-command']).stderr).toMatch(/\(see ceremony --help, or the README\)\.$/m);
  });
});
