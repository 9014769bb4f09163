/**
 * `ceremony key generate --openpgp-uid` and `ceremony key export --format openpgp` through the real
 * binary on real SoftHSM, checked with pkcs11-tool and GnuPG 2.2.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../../helpers/softhsm.js';
import { expectCleanError, runCeremony } from '../../helpers/cli.js';
import { closeModule, openModule } from '../../../ceremony/hsm/module.js';
import { PinAttempts, TokenSession } from '../../../ceremony/hsm/token.js';
import { TokenKeySigner } from '../../../ceremony/hsm/token-signer.js';
import { envPinSource } from '../../../ceremony/hsm/pin.js';
import { parsePkcs11Uri } from '../../../ceremony/hsm/uri.js';
import { createDetachedSignature } from '../../../ceremony/openpgp/build/index.js';
import { newestSigningKey } from '../../../ceremony/openpgp/hsm-store.js';
import { makeGpgHome as makeGpg, type GpgHome as Gpg } from '../../helpers/gpg.js';

const PIN = '975310';
let hsm: SoftHsm;
let gpg: Gpg;
let work: string;

beforeEach(() => {
  hsm = makeSoftHsm();
  hsm.initToken('signing', PIN);
  gpg = makeGpg();
  work = mkdtempSync(join(tmpdir(), 'ceremony-cli-openpgp-'));
});
afterEach(() => {
  gpg.cleanup();
  hsm.cleanup();
  rmSync(work, { recursive: true, force: true });
});

const withPin = () => ({ ...hsm.env, CEREMONY_PIN: PIN });
const UID = 'Release Signer <release@example.org>';

function generate(label: string, extra: string[] = []) {
  return runCeremony(['--json', 'key', 'generate', '--token', 'pkcs11:token=signing', '--label', label, '--bits', '2048', ...extra], { env: withPin() });
}

interface Generated {
  key: { id: string; uri: string };
  openpgp: { fingerprint: string; keyId: string; created: string };
}

describe('ceremony key generate --openpgp-uid / key export --format openpgp', () => {
  it('stores a certificate that exports to identical bytes every time, without a PIN, and that gpg imports as a signing key with its expiry', () => {
    const gen = generate('release-2026', ['--valid-days', '365', '--openpgp-uid', UID]);
    expect(gen.code, gen.stderr).toBe(0);
    const made = gen.json<Generated>();
    expect(made.openpgp.fingerprint).toMatch(/^[0-9A-F]{40}$/);
    // Locked keys keep the CKA_ID they were generated with (issue 10): the certificate names the OpenPGP key.
    expect(made.key.id).toMatch(/^[0-9a-f]{16}$/);

    const uri = 'pkcs11:token=signing;object=release-2026';
    const a = join(work, 'a.asc');
    const b = join(work, 'b.asc');
    for (const out of [a, b]) {
      const run = runCeremony(['key', 'export', '--key', uri, '--format', 'openpgp', '--out', out], { env: hsm.env });
      expect(run.code, run.stderr).toBe(0);
    }
    const stdout = runCeremony(['key', 'export', '--key', uri, '--format', 'openpgp'], { env: hsm.env });
    expect(stdout.code).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(stdout.stdout).toBe(readFileSync(a, 'utf8'));
    expect(stdout.stdout).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);

    gpg.importKey(a);
    const records = gpg.colons();
    const pub = records.find((r) => r[0] === 'pub')!;
    expect(records.find((r) => r[0] === 'fpr')![9]).toBe(made.openpgp.fingerprint);
    expect(pub[11]).toBe('scSC'); // a standalone key: certifies and signs
    expect(Number(pub[6])).toBeGreaterThan(Number(pub[5]) + 365 * 86_400 - 1); // expires after its last valid day
    expect(records.find((r) => r[0] === 'uid')![9]).toBe(UID);
  });

  it('pkcs11-tool shows the certificate as a public data object and one CKA_ID on both halves', () => {
    const made = generate('maintainer', ['--openpgp-uid', UID]).json<Generated>();
    const listing = hsm.pkcs11Tool(['--token-label', 'signing', '--login', '--pin', PIN, '--list-objects']);
    const blocks = listing.split(/\n(?=\S)/);
    // The key's private state record (application 'ceremony-key-state') is a data object too; pick the certificate.
    const data = blocks.find((bl) => bl.startsWith('Data object') && /application:\s+'ceremony-openpgp'/.test(bl))!;
    expect(data).toBeDefined();
    expect(data).toMatch(/label:\s+'maintainer'/);
    expect(data).toMatch(/application:\s+'ceremony-openpgp'/);
    expect(data).not.toMatch(/private/);
    const id = made.key.id;
    expect(blocks.find((bl) => bl.startsWith('Private Key Object'))).toContain(`ID:         ${id}`);
    expect(blocks.find((bl) => bl.startsWith('Public Key Object'))).toContain(`ID:         ${id}`);
    // The stored value is the certificate that export armors.
    const raw = join(work, 'cert.bin');
    hsm.pkcs11Tool(['--token-label', 'signing', '--read-object', '--type', 'data', '--label', 'maintainer', '--application-label', 'ceremony-openpgp', '--output-file', raw]);
    const exported = runCeremony(['key', 'export', '--key', 'pkcs11:token=signing;object=maintainer', '--format', 'openpgp'], { env: hsm.env }).stdout;
    const body = exported.split('\n\n')[1]!.split('\n=')[0]!.replace(/\n/g, '');
    expect(Buffer.from(body, 'base64').equals(readFileSync(raw))).toBe(true);
  });

  it('a key made by the CLI signs on the token (found from the token alone) and gpg verifies it with the exported certificate', async () => {
    const made = generate('release-2026', ['--valid-days', '30', '--openpgp-uid', UID]).json<Generated>();
    const cert = join(work, 'cert.asc');
    expect(runCeremony(['key', 'export', '--key', 'pkcs11:token=signing;object=release-2026', '--format', 'openpgp', '--out', cert], { env: hsm.env }).code).toBe(0);
    gpg.importKey(cert);

    const restore = hsm.activate();
    const ts = TokenSession.open(openModule(SOFTHSM_MODULE), parsePkcs11Uri('pkcs11:token=signing'));
    try {
      await ts.login(envPinSource({ CEREMONY_PIN: PIN }), new PinAttempts());
      const found = await newestSigningKey(ts);
      expect(found.openpgp.fingerprint).toBe(made.openpgp.fingerprint);
      const file = join(work, 'SHA512SUMS');
      writeFileSync(file, 'abc  file\n');
      const sig = await createDetachedSignature({ signer: new TokenKeySigner(ts, found.key), key: found.openpgp, input: file, created: new Date(), armor: true });
      writeFileSync(`${file}.asc`, sig.output);
      const r = gpg.verify(`${file}.asc`, file);
      expect(r.code, r.status.join('\n')).toBe(0);
      expect(r.status.find((l) => l.startsWith('VALIDSIG '))!.split(' ')[1]).toBe(made.openpgp.fingerprint);
    } finally {
      ts.close();
      closeModule();
      restore();
    }
  });

  it('refuses to export an OpenPGP certificate for a key that has none (exit 3, one error line)', () => {
    expect(generate('payload-2026').code).toBe(0);
    expectCleanError(runCeremony(['key', 'export', '--key', 'pkcs11:token=signing;object=payload-2026', '--format', 'openpgp'], { env: hsm.env }), 'KEY_NOT_FOUND', 3);
  });

  it('refuses an unknown export format (exit 2)', () => {
    expectCleanError(runCeremony(['key', 'export', '--key', 'pkcs11:token=signing;object=x', '--format', 'x509'], { env: hsm.env }), 'USAGE', 2);
  });

  it('refuses a multi-line user ID before any key is made (no orphan key on the token)', () => {
    expectCleanError(generate('bad-uid', ['--openpgp-uid', 'A <a@example.org>\nB <b@example.org>']), 'USAGE', 2);
    const listing = hsm.pkcs11Tool(['--token-label', 'signing', '--login', '--pin', PIN, '--list-objects']);
    expect(listing).not.toContain('bad-uid');
  });
});
