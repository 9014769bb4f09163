/** Every command of `ceremony`, registered in the order `--help` lists them. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerHsm } from './hsm.js';
import { registerKey } from './key.js';
import { registerDemo } from './demo.js';
import { registerAudit } from './audit.js';
import { registerVerify } from './verify.js';
import { registerSign } from './sign.js';
import { registerPayload } from './payload.js';
import { registerShares } from './shares.js';
import { registerQuorumCeremonies, registerRenew } from './quorum-ceremonies.js';
import { registerConfig } from './config.js';
import { registerBuildKey } from './build-key.js';
import { registerBackup } from './backup.js';

export function registerCommands(program: Command, ctxFor: (json: boolean) => CliContext): void {
  registerHsm(program, ctxFor);
  registerKey(program, ctxFor);
  registerVerify(program, ctxFor);
  registerSign(program, ctxFor);
  registerPayload(program, ctxFor);
  registerConfig(program, ctxFor);
  registerQuorumCeremonies(program, ctxFor);
  registerRenew(program, ctxFor);
  registerBuildKey(program, ctxFor);
  registerBackup(program, ctxFor);
  registerShares(program, ctxFor);
  registerAudit(program, ctxFor);
  registerDemo(program, ctxFor);
}
