/**
 * What the ceremony desk (desk.ts) is given: native dialogs, the worker, the air-gap check and the core's
 * seams, and the parts of the config it uses. Types only, apart from desk.ts so that desk-backup.ts can
 * take them without importing the desk that imports it.
 */
import type { AirGapStatus } from '../ceremony/airgap.js';
import type { ExpectedSet } from '../ceremony/quorum/index.js';
import type { AirGapView, QuorumSessionView } from './ipc-contract.js';
import type { CeremonyWorker } from './worker/host.js';

/** Why a dialog is shown; the test double answers by purpose. */
export type DialogPurpose = 'config' | 'inbox' | 'out-dir' | 'share-file' | 'share-key' | 'record' | 'pin-certificate' | 'artifacts' | 'save-share' | 'save-report' | 'save-backup' | 'backup-file';

export interface Dialogs {
  openFile(purpose: DialogPurpose, title: string): Promise<string | null>;
  openFolder(purpose: DialogPurpose, title: string): Promise<string | null>;
  saveFile(purpose: DialogPurpose, title: string, defaultName: string): Promise<string | null>;
}

/** The parts of the ceremony config (DESIGN §5) the desk uses; loaded by the core's config parser. */
export interface DeskConfig {
  file: string;
  identity: string;
  module?: string;
  signingKeyUri: string;
  threshold: number;
  custodians: string[];
  trustedKeys: string[];
}

/** Clearly named seams the lead wires to the core as it lands (see main/core-wiring.ts). */
export interface DeskCore {
  loadConfig(file: string): Promise<DeskConfig>;
  /**
   * Open a quorum session for a renewal: its ID (a hash of its parameters, for custodians to confirm) and
   * the share set in force (from the root token's descriptor), which every share is checked against.
   */
  openQuorumSession(config: DeskConfig): Promise<{ view: QuorumSessionView; expected: ExpectedSet }>;
  /** Decrypt an OpenPGP-encrypted share with the custodian's key file and passphrase. */
  decryptShare(encrypted: Uint8Array, keyFile: string, passphrase: Uint8Array): Promise<Uint8Array>;
  readFile(path: string, maxBytes: number): Promise<Uint8Array>;
  writeFileAtomic(path: string, data: Uint8Array | string): Promise<void>;
  printToPdf(html: string): Promise<Uint8Array>;
}

export interface DeskDeps {
  dialogs: Dialogs;
  worker: Pick<CeremonyWorker, 'run' | 'cancel'>;
  airGap: () => AirGapStatus;
  core: DeskCore;
  /** Called for an operator override, so the next record carries it (and for the app's own log). */
  onOverride?: (status: AirGapView) => void;
}
