/**
 * The init ceremony's types (DESIGN §3 Init): what the caller gets back, and the one state its steps
 * (init-steps.ts) share. Apart from init.ts and init-steps.ts so that both import it and neither imports
 * the other's types.
 */
import type { Pkcs11Module } from '../hsm/module.js';
import type { findFreeSlot, PinAttempts, TokenSession } from '../hsm/token.js';
import type { PinSource, RememberedPin } from '../hsm/pin.js';
import type { KeyInfo } from '../hsm/keys.js';
import type { TokenKeySigner } from '../hsm/token-signer.js';
import type { QuorumPins } from '../quorum/index.js';
import type { BuiltCertificate } from '../openpgp/build/certificate.js';
import type { SealedRecord } from '../audit/record.js';
import type { RecordSealer } from '../audit/seal.js';
import type { CeremonyRun } from './runner.js';
import type { HandedOutShare, PinPlan, QuorumCeremonyOptions, StagedOutputs } from './quorum-common.js';

export interface InitResult {
  record: SealedRecord;
  rootFingerprint: string;
  subkeyFingerprint: string;
  /** The `--key` URI that signs releases with the new subkey (issue 13: keys people can find). */
  signingKeyUri: string;
  certificatePath: string;
  shares: HandedOutShare[];
}

/** One init in progress: what `openInit` settled before the record opened, and what each step made. */
export interface InitState {
  readonly o: QuorumCeremonyOptions;
  readonly mod: Pkcs11Module;
  /** The slot the root token is initialized on, found free before anything started. */
  readonly freeSlot: ReturnType<typeof findFreeSlot>;
  /** The PINs the quorum will hold, fitted to both tokens (issue 10). */
  readonly pinPlan: PinPlan;
  /** The maintainer's PIN of the signing token; remembered for the login after its SO PIN is replaced. */
  readonly signingPin: RememberedPin;
  /** The operator's SO PIN of the signing token, read at `rotate-pins` and replaced by a derived one. */
  readonly operatorSoPin: PinSource;
  /** A module whose free slots already carry an SO PIN (openCryptoki): it is replaced by the derived one. */
  readonly rootFactorySo: PinSource | undefined;
  readonly run: CeremonyRun;
  readonly attempts: PinAttempts;
  /** Every output, written here first and moved to the out dir only at the commit (all or nothing). */
  readonly staged: StagedOutputs;

  // Secrets: wiped by runInit on every path.
  secret?: Buffer;
  pins?: QuorumPins;
  /** The operator's SO PIN of the signing token, held until it is replaced (and put back on failure). */
  oldSigningSo?: Buffer;

  // What a failure before the commit takes back, and what seals the record.
  root?: TokenSession;
  signing?: TokenSession;
  /** Label of the signing subkey this init generated on the signing token. */
  subLabel?: string;
  signingSoRotated: boolean;
  /** Once the shares are handed out the root token must stay: no rollback after this point. */
  committed: boolean;
  sealer?: RecordSealer;

  // Made by one step, read by a later one.
  /** The PINs are derived with this set ID as salt: the split carries the same one. */
  setId?: string;
  /** Read once, after the root login: the keys' creation time and the subkey's window use it. */
  now?: Date;
  created?: Date;
  rootKey?: KeyInfo;
  rootSigner?: TokenKeySigner;
  primary?: BuiltCertificate;
  window?: { validFrom: Date; validUntil: Date; tokenDays: number };
  sub?: { key: KeyInfo; signer: TokenKeySigner };
  bound?: BuiltCertificate;
  handed?: HandedOutShare[];
  armored?: string;
}
