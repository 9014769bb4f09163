/** Pinned certificates from the ceremony config (trustedBuildKeys), and nothing trusted without one. */
import { afterAll, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VECTORS, expectCleanError, runCeremony } from '../../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ceremony-config-trust-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(trusted: string[]): string {
  const file = join(dir, `config-${trusted.length}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      hsm: { rootToken: 'root', signingToken: 'signing' },
      identity: { name: 'Example', email: 'security@example.org' },
      quorum: { threshold: 1, allowThresholdOne: true, custodians: [{ name: 'alice' }] },
      trustedBuildKeys: trusted,
    }),
  );
  return file;
}

it("verifies against the config's trustedBuildKeys when no --trusted-key is given", () => {
  const run = runCeremony(['verify', '--config', config([join(VECTORS, 'digests/throwaway-test-signing-key.pub.asc')]), join(VECTORS, 'digests/version.txt')]);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/^VERIFIED\s+.*version\.txt$/m);
});

it('trusts nothing implicitly: no --trusted-key and no config is a usage error', () => {
  expectCleanError(runCeremony(['verify', join(VECTORS, 'digests/version.txt')]), 'USAGE', 2);
  expectCleanError(runCeremony(['verify', '--config', config([]), join(VECTORS, 'digests/version.txt')]), 'USAGE', 2);
});

it("a config pinning another key refuses the file (the Flatcar key did not sign the test vector)", () => {
  const run = runCeremony(['verify', '--config', config([join(VECTORS, 'flatcar-keys/Flatcar_Image_Signing_Key.asc')]), join(VECTORS, 'digests/version.txt')]);
  expectCleanError(run, 'SIGNATURE_UNTRUSTED', 1);
});
