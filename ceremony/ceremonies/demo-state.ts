/**
 * The demo's types: what the caller gives and gets back, and the one state its steps (demo-steps.ts)
 * share. Apart from demo.ts and demo-steps.ts so that both import it and neither imports the other's types.
 */
import type * as openpgp from 'openpgp';
import type { Pkcs11Module } from '../hsm/module.js';
import type { CeremonyConfig } from '../config.js';
import type { DemoBuildServer } from '../release/demo-build-server.js';
import type { makeDemoRebuilders } from '../release/demo-builders.js';
import type { OptionEntry } from '../audit/events.js';
import type { RenewResult } from './renew-state.js';
import type { SignUpdateResult } from './sign-update-state.js';

export interface DemoOptions {
  dir?: string;
  /** `--module PATH`: run on the free slots of this PKCS#11 module instead of throwaway SoftHSM tokens. */
  module?: string;
  env: NodeJS.ProcessEnv;
  now: () => Date;
  step(name: string, detail: string): void;
}

export interface DemoResult {
  dir: string;
  records: { dir: string; verdict: string; report: string }[];
  steps: { name: string; detail: string }[];
  /** What to try next, on the demo's own tokens (printed after the demo). */
  next: string[];
}

/** One demo in progress: what `openDemo` settled (folder, module), and what each step made. */
export interface DemoState {
  readonly opts: DemoOptions;
  /** Every step said so far, in order (the result's `steps`). */
  readonly steps: DemoResult['steps'];
  /** Say a step: kept for the result and printed at once through `opts.step`. */
  readonly say: (name: string, detail: string) => void;
  /** The demo's folder, empty when the demo began; everything it makes is in it. */
  readonly dir: string;
  readonly modulePath: string;
  /** Throwaway SoftHSM tokens (the default), not the free slots of a module given with --module. */
  readonly softhsm: boolean;
  readonly mod: Pkcs11Module;
  /** Where every ceremony of the demo writes its record. */
  readonly records: string;
  /** The records as the auditor reviewed them (the result's `records`). */
  readonly reviewed: DemoResult['records'];

  // The operators' signing token (initSigningToken).
  /** The ceremonies' environment: the module and the token PINs, which live only in this process's memory. */
  env?: NodeJS.ProcessEnv;
  /** The throwaway maintainer PIN, left for trying the commands afterwards (issue 13). */
  pinFile?: string;
  /** The token's longest PIN is under 64 bits: accepted, and recorded as `--accept-weak-pins`. */
  acceptWeakPins?: boolean;
  weakOption?: OptionEntry[];

  // Made by one step, read by a later one.
  alice?: { privateKey: string; passphrase: string };
  configPath?: string;
  config?: CeremonyConfig;
  aliceShare?: Buffer;
  buildKey?: openpgp.PrivateKey;
  buildRequestArmored?: string;
  renew?: RenewResult;
  /** Where the build server publishes the release. */
  inbox?: string;
  /** The unsigned update payload the build server published. */
  unsigned?: string;
  buildServer?: DemoBuildServer;
  releaseFiles?: string[];
  rebuilders?: Awaited<ReturnType<typeof makeDemoRebuilders>>;
  subkeyLabel?: string;
  payloadKeyLabel?: string;
  signed?: SignUpdateResult;
}
