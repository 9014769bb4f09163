/**
 * `ceremony demo`: a whole year of ceremonies on throwaway SoftHSM tokens, printed step by step.
 * It uses exactly the code paths of the real commands; only the tokens and keys are disposable.
 */
import { mkdirSync, mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { verify as nodeVerify } from 'node:crypto';
import { CeremonyError } from '../errors.js';
import { hashFile } from '../crypto.js';
import { openModule, resolveModulePath, SOFTHSM_DEFAULT_MODULE } from '../hsm/module.js';
import { findFreeSlot, initializeToken, PinAttempts, TokenSession } from '../hsm/token.js';
import { generateRsaKeyPair, findPrivateKey, publicKeyOf, publicKeyPem } from '../hsm/keys.js';
import { TokenKeySigner } from '../hsm/token-signer.js';
import type { PinSource } from '../hsm/pin.js';
import { parsePkcs11Uri } from '../hsm/uri.js';
import { writeFileAtomic } from '../files.js';

export interface DemoOptions {
  dir?: string;
  env: NodeJS.ProcessEnv;
  now: () => Date;
  step(name: string, detail: string): void;
}

export interface DemoResult {
  dir: string;
  steps: { name: string; detail: string }[];
}

/** A fixed PIN for the throwaway token; it exists only inside the demo's temp directory. */
const DEMO_PIN = Buffer.from('demo-maintainer-pin');
const DEMO_SO_PIN = Buffer.from('demo-security-officer-pin');

function fixedPin(pin: Buffer): PinSource {
  return { kind: 'env', interactive: false, read: async () => Buffer.from(pin) };
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const steps: DemoResult['steps'] = [];
  const step = (name: string, detail: string) => {
    steps.push({ name, detail });
    opts.step(name, detail);
  };
  const dir = opts.dir ? resolve(opts.dir) : mkdtempSync(join(tmpdir(), 'ceremony-demo-'));
  mkdirSync(dir, { recursive: true });

  // 1. Throwaway SoftHSM: its own config and token directory, so no real token is ever touched.
  const tokenDir = join(dir, 'softhsm-tokens');
  mkdirSync(tokenDir, { recursive: true });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  const modulePath = resolveModulePath({ env: { ...opts.env, CEREMONY_PKCS11_MODULE: opts.env.CEREMONY_PKCS11_MODULE ?? SOFTHSM_DEFAULT_MODULE } });
  if (!existsSync(modulePath)) {
    throw new CeremonyError('MODULE_NOT_FOUND', `the demo needs SoftHSM (${modulePath}); install the softhsm2 package`);
  }
  const mod = openModule(modulePath);
  step('hsm', `throwaway SoftHSM in ${tokenDir} (module ${modulePath})`);

  initializeToken(mod, findFreeSlot(mod), 'signing', DEMO_SO_PIN, DEMO_PIN);
  step('hsm', "initialized token 'signing' with a throwaway maintainer PIN");

  // 2. A payload key, as `ceremony key generate --bits 2048 --valid-days 365` makes it.
  const ts = TokenSession.open(mod, parsePkcs11Uri('pkcs11:token=signing'));
  try {
    await ts.login(fixedPin(DEMO_PIN), new PinAttempts());
    const now = opts.now();
    const key = generateRsaKeyPair(ts, { label: 'payload-demo', bits: 2048, validDays: 365, now });
    step('key', `generated RSA-2048 payload key ${key.uri} valid ${key.startDate?.toISOString().slice(0, 10)} .. ${key.endDate?.toISOString().slice(0, 10)}`);
    const pemPath = join(dir, 'payload-demo.pub.pem');
    writeFileAtomic(pemPath, publicKeyPem(publicKeyOf(ts, key.handle)));
    step('key', `exported the public key to ${pemPath}`);

    // 3. Sign the SHA-256 of a sample file on the token, then check with the exported public key.
    const sample = join(dir, 'sample-release.txt');
    writeFileSync(sample, `Example release ${now.toISOString().slice(0, 10)}\n`);
    const { sha256 } = await hashFile(sample, ['sha256'] as const);
    step('hash', `sha256(${sample}) = ${sha256.toString('hex')}`);
    const signer = new TokenKeySigner(ts, findPrivateKey(ts, parsePkcs11Uri('pkcs11:token=signing;object=payload-demo')), opts.now);
    const signature = await signer.signDigest('sha256', sha256);
    const sigPath = `${sample}.sig.raw`;
    writeFileAtomic(sigPath, signature);
    step('sign', `signed on the HSM with CKM_RSA_PKCS over the SHA-256 DigestInfo: ${sigPath}`);

    const { createPublicKey } = await import('node:crypto');
    const exported = createPublicKey((await import('node:fs')).readFileSync(pemPath));
    const ok = nodeVerify('sha256', (await import('node:fs')).readFileSync(sample), exported, signature);
    if (!ok) throw new CeremonyError('SELF_CHECK_FAILED', 'the demo signature does not verify with the exported public key');
    step('verify', 'the signature verifies with the exported public key (Node crypto, independent of the HSM)');
  } finally {
    ts.close();
  }
  step('done', `demo finished; everything it made is in ${dir}`);
  return { dir, steps };
}
