/**
 * Real material for the e2e tests: a throwaway SoftHSM with a signing token, a ceremony config, a root of
 * trust made by the real `ceremony init` (root token, certificate, 3-of-5 shares — dave's encrypted to his
 * own OpenPGP key — sealed record), and an
 * inbox of release files signed by a throwaway build server, one of them tampered.
 */
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as openpgp from 'openpgp';
import { makeDemoBuildServer } from '../../dist/ceremony/release/demo-build-server.js';
import { writeDemoPayload } from '../../dist/ceremony/payload/demo-payload.js';
import { runCeremony } from '../helpers/cli.js';
import { makeSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../helpers/softhsm.js';

export const SIGNING_PIN = '246810';
export const CUSTODIANS = ['alice', 'bob', 'carol', 'dave', 'erin'];
/** dave keeps his share encrypted to his own OpenPGP key (config publicKey), unlocked with this passphrase. */
export const DAVE_PASSPHRASE = 'dave keeps a long passphrase';

export interface CeremonyFixture {
  dir: string;
  hsm: SoftHsm;
  config: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

export async function makeFixture(): Promise<CeremonyFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'ceremony-e2e-'));
  const hsm = makeSoftHsm();
  hsm.initToken('signing', SIGNING_PIN);
  mkdirSync(join(dir, 'keys'));
  mkdirSync(join(dir, 'custodians'));
  const dave = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'dave', email: 'dave@example.org' }], passphrase: DAVE_PASSPHRASE });
  writeFileSync(join(dir, 'custodians', 'dave.asc'), dave.publicKey);
  writeFileSync(join(dir, 'custodians', 'dave.key.asc'), dave.privateKey, { mode: 0o600 });
  const config = join(dir, 'ceremony.json');
  writeFileSync(
    config,
    JSON.stringify({
      hsm: { module: SOFTHSM_MODULE, rootToken: 'root', signingToken: 'signing' },
      identity: { name: 'Example Image Signing Key', email: 'security@example.org' },
      quorum: { threshold: 3, custodians: CUSTODIANS.map((name) => (name === 'dave' ? { name, publicKey: 'custodians/dave.asc' } : { name })) },
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

/**
 * A release signed Flatcar-style by the core's throwaway demo build server (each file with .sig, .DIGESTS
 * and .DIGESTS.asc), its certificate pinned in the config, copied to the "transfer media"; then one file
 * is altered on the media after signing, the attack the verification exists to stop. With `payload`, an
 * unsigned CrAU update payload is signed by the build server too and sits in the inbox beside the release.
 */
export async function makeInbox(f: CeremonyFixture, opts: { payload?: string } = {}): Promise<{ inbox: string; files: string[]; tampered: string }> {
  const buildDir = join(f.dir, 'build');
  mkdirSync(buildDir, { recursive: true });
  if (opts.payload) writeDemoPayload(join(buildDir, opts.payload));
  const build = await makeDemoBuildServer(buildDir, { rsaBits: 2048, ...(opts.payload ? { alsoSign: [opts.payload] } : {}) });
  copyFileSync(build.certificate, join(f.dir, 'keys', 'build-server.asc'));
  const inbox = join(f.dir, 'inbox');
  mkdirSync(inbox);
  for (const n of readdirSync(build.dir).filter((n) => n !== basename(build.certificate))) copyFileSync(join(build.dir, n), join(inbox, n));
  const files = build.files.map((p: string) => basename(p));
  const tampered = files.filter((n) => n !== opts.payload).at(-1)!;
  appendFileSync(join(inbox, tampered), 'one more line, added on the transfer media\n');
  return { inbox, files, tampered };
}

/** An RSA-2048 payload key on the signing token, made by the real CLI (`ceremony key generate`). */
export function makePayloadKey(f: CeremonyFixture, label: string): string {
  const pinFile = join(f.dir, 'signing.pin');
  writeFileSync(pinFile, SIGNING_PIN, { mode: 0o600 });
  try {
    const r = runCeremony(['key', 'generate', '--token', 'pkcs11:token=signing', '--label', label, '--bits', '2048', '--valid-days', '365', '--pin-file', pinFile], { env: f.env });
    if (r.code !== 0) throw new Error(`ceremony key generate failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  } finally {
    rmSync(pinFile);
  }
  return `pkcs11:token=signing;object=${label}`;
}
