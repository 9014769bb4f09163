/**
 * The renewal's types (DESIGN §3, Renewal): what the caller gives and gets back, and the one state its
 * steps (renew-steps.ts) share. Apart from renew.ts and renew-steps.ts so that both import it and
 * neither imports the other's types.
 */
import type { Pkcs11Module } from '../hsm/module.js';
import type { PinAttempts, TokenSession } from '../hsm/token.js';
import type { PinSource, RememberedPin } from '../hsm/pin.js';
import type { KeyInfo } from '../hsm/keys.js';
import type { TokenKeySigner } from '../hsm/token-signer.js';
import type { QuorumPins, QuorumSession, QuorumSessionId, QuorumSetDescriptor } from '../quorum/index.js';
import type { BuiltCertificate } from '../openpgp/build/certificate.js';
import type { SealedRecord } from '../audit/record.js';
import type { RecordSealer } from '../audit/seal.js';
import type { CeremonyRun, RunnableStep } from './runner.js';
import type { BuildSubkeyInput, BuildSubkeyTransition, CheckedBuildSubkey } from './renew-build-subkey.js';
import type { RenewalPreview } from './renewal-preview.js';
import type { ShareSource } from './quorum-shares.js';
import type { HandedOutShare, PinPlan, QuorumCeremonyOptions, StagedOutputs } from './quorum-common.js';

export interface RenewOptions extends QuorumCeremonyOptions {
  /** Shares given as files (`--share`). */
  shares: ShareSource[];
  /** On a terminal: ask for more shares until k are accepted. */
  promptShare?: (have: number, need: number) => Promise<ShareSource | undefined>;
  /**
   * On a terminal: show the session ID and return what the operator typed once the custodians confirmed
   * it; the core checks the answer with confirmsQuorumSession (the same rule as `expectSessionId`).
   */
  confirmSession?: (id: QuorumSessionId) => Promise<string>;
  /**
   * The session ID as the custodians confirmed it: typed in the app, or `--session-id` for an unattended
   * run (at least its first four groups; confirmsQuorumSession).
   */
  expectSessionId?: string;
  /** Also generate a new RSA-2048 payload key with this label, announced in transition.json. */
  newPayloadKey?: string;
  /** The build server's subkey request to certify too (`--build-subkey`, issue 15). */
  buildSubkey?: BuildSubkeyInput;
  /** Test seam: throw after this step is recorded, to prove a failure anywhere leaves the state in force. */
  failAfter?: RunnableStep;
}

export interface RenewResult {
  record: SealedRecord;
  /** The `--key` URI that signs releases with the new subkey, and `--key` of the new payload key if one was made. */
  signingKeyUri: string;
  payloadKeyUri?: string;
  sessionId: string;
  rootFingerprint: string;
  subkeyFingerprint: string;
  buildSubkeyFingerprint?: string;
  previousSubkeys: string[];
  certificatePath: string;
  transitionPath: string;
  shares: HandedOutShare[];
  setId: string;
}

/** One renewal in progress: what `openRenewal` read before the record opened, and what each step made. */
export interface RenewState {
  readonly o: RenewOptions;
  readonly mod: Pkcs11Module;
  /** Read once: the new subkey's window, the session ID and the new keys' creation time all use it. */
  readonly now: Date;
  /** Open since the preview (public objects); logged in by `unlockRootKey`. */
  readonly root: TokenSession;
  /** What is in force, read from the root token before any share or PIN (renewal-preview.ts). */
  readonly preview: RenewalPreview;
  readonly rootFingerprint: string;
  readonly previousSubkeys: string[];
  /** The maintainer's PIN of the signing token; remembered for the login after its SO PIN is rotated. */
  readonly signingPin: RememberedPin;
  /** A set from before issue 10 leaves the signing token's SO PIN with a person: hand it over now when given. */
  readonly operatorSoPin: PinSource | undefined;
  /** The new set's PINs, fitted to the tokens as they are (issue 10). */
  readonly pinPlan: PinPlan;
  readonly run: CeremonyRun;
  readonly attempts: PinAttempts;
  readonly session: QuorumSession;
  /** Every output, written here first and moved to the out dir only after the commit (all or nothing). */
  readonly staged: StagedOutputs;

  // Secrets: wiped by runRenew on every path.
  oldSecret?: Buffer;
  oldPins?: QuorumPins;
  newSecret?: Buffer;
  newPins?: QuorumPins;
  /** The signing token's SO PIN before this renewal (derived from the old secret, or the operator's). */
  oldSigningSo?: Buffer;

  // What a failure before the commit takes back, and what seals the record.
  signing?: TokenSession;
  /** Labels of the keys this renewal generated on the signing token. */
  readonly created: { label: string }[];
  pinsRotated: 'none' | 'user' | 'both';
  signingSoRotated: boolean;
  /** The new set and certificate are in force: from here a failure takes nothing back. */
  committed: boolean;
  sealer?: RecordSealer;

  // Made by one step, read by a later one.
  buildRequest?: CheckedBuildSubkey;
  rootSigner?: TokenKeySigner;
  sub?: { key: KeyInfo; signer: TokenKeySigner };
  payloadKey?: { key: KeyInfo; pem: string };
  bound?: BuiltCertificate;
  buildKey?: { certificate: Uint8Array; transition: BuildSubkeyTransition };
  newSetId?: string;
  descriptor?: QuorumSetDescriptor;
  handed?: HandedOutShare[];
  armored?: string;
}

