/**
 * Real material for the e2e tests: a throwaway SoftHSM with a signing token, a ceremony config, a root of
 * trust made by the real `ceremony init` (root token, certificate, 3-of-5 shares, sealed record), and an
 * inbox of release files signed by the vectors' throwaway build-server key, one of them tampered.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCeremony, VECTORS } from '../helpers/cli.js';
import { makeSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../helpers/softhsm.js';

export const SIGNING_PIN = '246810';
export const CUSTODIANS = ['alice', 'bob', 'carol', 'dave', 'erin'];

export interface CeremonyFixture {
  dir: string;
  hsm: SoftHsm;
  config: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

export function makeFixture(): CeremonyFixture {
  const dir = mkdtempSync(join(tmpdir(), 'ceremony-e2e-'));
  const hsm = makeSoftHsm();
  hsm.initToken('signing', SIGNING_PIN);
  mkdirSync(join(dir, 'keys'));
  copyFileSync(join(VECTORS, 'digests', 'throwaway-test-signing-key.pub.asc'), join(dir, 'keys', 'build-server.asc'));
  const config = join(dir, 'ceremony.json');
  writeFileSync(
    config,
    JSON.stringify({
      hsm: { module: SOFTHSM_MODULE, rootToken: 'root', signingToken: 'signing' },
      identity: { name: 'Example Image Signing Key', email: 'security@example.org' },
      quorum: { threshold: 3, custodians: CUSTODIANS.map((name) => ({ name })) },
      keys: { subkeyValidityDays: 365, overlapDays: 30, renewWindowDays: 60 },
      trustedBuildKeys: ['keys/build-server.asc'],
    }),
  );
  return {
    dir,
    hsm,
    config,
    env: { ...hsm.env },
    cleanup() {
      hsm.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The real init ceremony through the CLI: root token, certificate, shares under DIR/init/shares, a sealed record. */
export function runInit(f: CeremonyFixture): { record: string; shares: string } {
  const pinFile = join(f.dir, 'signing.pin');
  writeFileSync(pinFile, SIGNING_PIN, { mode: 0o600 });
  const records = join(f.dir, 'ceremony-records');
  const r = runCeremony(['init', '--config', f.config, '--out', join(f.dir, 'init'), '--record-dir', records, '--allow-network', '--pin-file', pinFile], { env: f.env });
  if (r.code !== 0) throw new Error(`ceremony init failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  rmSync(pinFile);
  const [record] = readdirSync(records).filter((n) => n.includes('-init-'));
  return { record: join(records, record!), shares: join(f.dir, 'init', 'shares') };
}

/** version.txt as the build server signed it (VERIFIED), and a tampered copy carrying the same signature (REJECTED). */
export function makeInbox(f: CeremonyFixture): string {
  const inbox = join(f.dir, 'inbox');
  mkdirSync(inbox);
  const src = join(VECTORS, 'digests');
  for (const n of readdirSync(src).filter((n) => n.startsWith('version.txt'))) copyFileSync(join(src, n), join(inbox, n));
  writeFileSync(join(inbox, 'version-tampered.txt'), 'FLATCAR_VERSION=9999.0.0\n');
  copyFileSync(join(src, 'version.txt.sig'), join(inbox, 'version-tampered.txt.sig'));
  return inbox;
}
