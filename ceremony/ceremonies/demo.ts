/**
 * `ceremony demo`: a whole year of ceremonies on throwaway SoftHSM tokens, printed step by step, through
 * exactly the code the real commands run: init with 3-of-5 custodians (alice keeps her share encrypted
 * to her own OpenPGP key), a renewal with three shares that also makes a payload key, the sign-update
 * ceremony over a sample release from a stand-in build server, a signed update payload, GnuPG's verdict
 * on the release signatures, and the auditor's review and report of every record.
 * Only the tokens, keys and PINs are disposable; nothing here touches a real token.
 *
 * Shape: `openDemo` settles the folder and the module, then the steps of demo-steps.ts run in order over
 * one `DemoState` (demo-state.ts), as the renewal's do.
 */
import { mkdirSync, mkdtempSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CeremonyError } from '../errors.js';
import { openModule, resolveModulePath, SOFTHSM_DEFAULT_MODULE } from '../hsm/module.js';
import {
  auditRecords,
  bringShares,
  findRenewedKeys,
  finishDemo,
  gnupgVerdict,
  initSigningToken,
  initRootAndShares,
  publishRelease,
  rebuildRelease,
  renewWithQuorum,
  requestBuildSubkey,
  signPayload,
  signRelease,
  writeConfig,
} from './demo-steps.js';
import type { DemoOptions, DemoResult, DemoState } from './demo-state.js';

export type { DemoOptions, DemoResult } from './demo-state.js';

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const s = openDemo(opts);
  initSigningToken(s);
  await writeConfig(s);
  await initRootAndShares(s);
  await bringShares(s);
  await requestBuildSubkey(s);
  await renewWithQuorum(s);
  await publishRelease(s);
  await rebuildRelease(s);
  await findRenewedKeys(s);
  await signRelease(s);
  await signPayload(s);
  gnupgVerdict(s);
  await auditRecords(s);
  return finishDemo(s);
}

/**
 * The demo's folder (new or empty) and its module: by default throwaway SoftHSM tokens with a config and
 * token directory of their own, set before the module is loaded.
 */
function openDemo(opts: DemoOptions): DemoState {
  const steps: DemoResult['steps'] = [];
  const say = (name: string, detail: string) => {
    steps.push({ name, detail });
    opts.step(name, detail);
  };
  const dir = opts.dir ? resolve(opts.dir) : mkdtempSync(join(tmpdir(), 'ceremony-demo-'));
  mkdirSync(dir, { recursive: true });
  if (readdirSync(dir).length > 0) throw new CeremonyError('OUTPUT_EXISTS', `the demo folder ${dir} is not empty; give an empty or new --dir`);

  const modulePath = opts.module ?? SOFTHSM_DEFAULT_MODULE;
  const softhsm = modulePath === SOFTHSM_DEFAULT_MODULE;
  if (softhsm) {
    // Throwaway SoftHSM: its own config and token directory, set before the module is loaded.
    const tokenDir = join(dir, 'softhsm-tokens');
    mkdirSync(tokenDir);
    const conf = join(dir, 'softhsm2.conf');
    writeFileSync(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    process.env.SOFTHSM2_CONF = conf;
  }
  if (!existsSync(modulePath)) throw new CeremonyError('MODULE_NOT_FOUND', `the demo needs the PKCS#11 module ${modulePath}${softhsm ? '; install the softhsm2 package' : ''}`);
  const mod = openModule(resolveModulePath({ flag: modulePath, env: {} }));
  say('demo', softhsm ? `throwaway SoftHSM tokens in ${process.env.SOFTHSM2_CONF}` : `the free slots of ${modulePath} (they become tokens 'signing' and 'root')`);
  return { opts, steps, say, dir, modulePath, softhsm, mod, records: join(dir, 'ceremony-records'), reviewed: [] };
}
