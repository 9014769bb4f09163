/**
 * Real SoftHSM tokens in a throwaway directory. Each call makes its own SOFTHSM2_CONF and token dir, so
 * tests never share state; `env` is what a child `ceremony` process needs to see the same tokens.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
/**
 * The SO PIN every test token starts with (the operator's, before `init` hands the signing token's SO
 * PIN to the quorum). `env` carries it as CEREMONY_SO_PIN, as an operator's unattended init would.
 */
export const TEST_SO_PIN = 'operator-so-pin';

export interface SoftHsm {
  dir: string;
  conf: string;
  env: NodeJS.ProcessEnv;
  /** Initialize a token on the next free slot. */
  initToken(label: string, userPin: string, soPin?: string): void;
  /** Run pkcs11-tool against this SoftHSM. */
  pkcs11Tool(args: string[]): string;
  /** Point this process at these tokens (set SOFTHSM2_CONF); returns a function that undoes it. */
  activate(): () => void;
  cleanup(): void;
}

export function makeSoftHsm(prefix = 'ceremony-hsm-'): SoftHsm {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const env = { ...process.env, SOFTHSM2_CONF: conf, CEREMONY_SO_PIN: TEST_SO_PIN };
  return {
    dir,
    conf,
    env,
    initToken(label, userPin, soPin = TEST_SO_PIN) {
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', userPin, '--so-pin', soPin], { env, stdio: 'pipe' });
    },
    pkcs11Tool(args) {
      return execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    },
    activate() {
      const before = process.env.SOFTHSM2_CONF;
      process.env.SOFTHSM2_CONF = conf;
      return () => {
        if (before === undefined) delete process.env.SOFTHSM2_CONF;
        else process.env.SOFTHSM2_CONF = before;
      };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
