/**
 * The desk's seams (DeskCore) bound to the ceremony core. Small, synchronous, HSM-free work runs here in
 * main; everything touching the HSM or hashing files goes through the worker (worker/jobs.ts).
 *
 * Wired to the core: readFile → ceremony/files readInputFile; writeFileAtomic → ceremony/files
 * writeFileAtomic; decryptShare → ceremony/quorum decryptShare; openQuorumSession → worker job
 * 'renew.open'. Not yet: loadConfig (waits for ceremony/config.ts).
 */
import { CeremonyError } from '../ceremony/errors.js';
import { readInputFile, writeFileAtomic } from '../ceremony/files.js';
import { decryptShare } from '../ceremony/quorum/index.js';
import type { DeskCore } from './desk.js';
import type { CeremonyWorker } from './worker/host.js';

const KEY_FILE_LIMIT = 1024 * 1024;

export function createDeskCore(worker: Pick<CeremonyWorker, 'run'>, printToPdf: (html: string) => Promise<Uint8Array>): DeskCore {
  return {
    loadConfig: async () => {
      throw new CeremonyError('INTERNAL', 'reading the ceremony configuration (ceremony/config.ts) is not wired into the app yet');
    },
    openQuorumSession: async (config) => worker.run('renew.open', { configFile: config.file }).result,
    decryptShare: async (encrypted, keyFile, passphrase) => {
      const key = readInputFile(keyFile, "custodian's key file", KEY_FILE_LIMIT);
      try {
        return await decryptShare(Buffer.from(encrypted).toString('utf8'), key.toString('utf8'), passphrase, 'the encrypted share');
      } finally {
        key.fill(0);
      }
    },
    readFile: async (path, maxBytes) => readInputFile(path, 'file', maxBytes),
    writeFileAtomic: async (path, data) => writeFileAtomic(path, data),
    printToPdf,
  };
}
