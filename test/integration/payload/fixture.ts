/**
 * What the in-process payload ceremony tests share: a SoftHSM whose tokens and keys are made through the
 * CLI as an operator makes them, an unsigned payload with a stand-in build server's signature and
 * DIGESTS beside it, and the ceremony context an in-process run takes (unattended, a networked test
 * machine allowed, the token's PIN from the environment).
 */
import { expect } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeSoftHsm, SOFTHSM_MODULE, type SoftHsm } from '../../helpers/softhsm.js';
import { runCeremony } from '../../helpers/cli.js';
import { makeUnsignedPayload } from '../../unit/payload/make-payload.js';
import { makeDemoBuildServer, type DemoBuildServer } from '../../../ceremony/release/demo-build-server.js';
import { closeModule } from '../../../ceremony/hsm/module.js';
import type { CeremonyContext } from '../../../ceremony/ceremonies/runner.js';

export interface PayloadFixture {
  hsm: SoftHsm;
  pin: string;
  /** The stand-in build server; it signed `payload` (and made DIGESTS of it). */
  bs: DemoBuildServer;
  /** The unsigned payload, in `hsm.dir/inbox`. */
  payload: string;
  /** The context of an in-process ceremony whose record goes to `recordDir`; `over` replaces any part. */
  context(recordDir: string, over?: Partial<CeremonyContext>): CeremonyContext;
  cleanup(): void;
}

/**
 * `keys`: per token label, the `ceremony key generate` arguments of each key made on it (after
 * `--token pkcs11:token=LABEL`). Every token gets `pin` as its user PIN.
 */
export async function makePayloadFixture(o: { prefix: string; pin: string; keys: Record<string, string[][]>; payloadBytes: number }): Promise<PayloadFixture> {
  const hsm = makeSoftHsm(o.prefix);
  for (const token of Object.keys(o.keys)) hsm.initToken(token, o.pin);
  const deactivate = hsm.activate();
  const env = { ...hsm.env, CEREMONY_PIN: o.pin };
  for (const [token, keys] of Object.entries(o.keys)) {
    for (const args of keys) {
      const r = runCeremony(['key', 'generate', '--token', `pkcs11:token=${token}`, ...args], { env });
      expect(r.code, r.stderr).toBe(0);
    }
  }
  const inbox = join(hsm.dir, 'inbox');
  mkdirSync(inbox);
  const payload = join(inbox, 'update.unsigned');
  makeUnsignedPayload(payload, o.payloadBytes);
  const bs = await makeDemoBuildServer(inbox, { rsaBits: 2048, alsoSign: ['update.unsigned'] });
  return {
    hsm,
    pin: o.pin,
    bs,
    payload,
    context: (recordDir, over = {}) => ({
      recordDir,
      allowNetwork: true,
      attended: false,
      module: SOFTHSM_MODULE,
      env,
      reporter: { step() {}, warn() {} },
      now: () => new Date(),
      recordedOptions: [],
      ...over,
    }),
    cleanup() {
      closeModule();
      deactivate();
      hsm.cleanup();
    },
  };
}

/** The release key (OpenPGP, it seals the records) and an RSA payload key, both valid for 30 days. */
export const RELEASE_AND_PAYLOAD_KEYS: readonly string[][] = [
  ['--label', 'release', '--bits', '2048', '--valid-days', '30', '--openpgp-uid', 'Release <release@example.org>'],
  ['--label', 'payload', '--bits', '2048', '--valid-days', '30'],
];
