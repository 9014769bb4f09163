/**
 * The desk's seams (DeskCore) bound to the ceremony core. Small, synchronous, HSM-free work runs here in
 * main; everything touching the HSM or hashing files goes through the worker (worker/jobs.ts).
 *
 * Wired to the core: readFile → ceremony/files readInputFile; writeFileAtomic → ceremony/files
 * writeFileAtomic; decryptShare → ceremony/quorum decryptShare; openQuorumSession → worker job
 * 'renew.open'; loadConfig → ceremony/config loadConfig.
 */
import { loadConfig } from '../ceremony/config.js';
import { readInputFile, writeFileAtomic } from '../ceremony/files.js';
import { formatPkcs11Uri } from '../ceremony/hsm/uri.js';
import { decryptShare } from '../ceremony/quorum/index.js';
import type { DeskCore } from './desk.js';
import type { CeremonyWorker } from './worker/host.js';

const KEY_FILE_LIMIT = 1024 * 1024;

export function createDeskCore(worker: Pick<CeremonyWorker, 'run'>, printToPdf: (html: string) => Promise<Uint8Array>): DeskCore {
  return {
    loadConfig: async (file) => {
      const c = loadConfig(file);
      return {
        file: c.path,
        identity: `${c.identity.name} <${c.identity.email}>`,
        ...(c.hsm.module !== undefined ? { module: c.hsm.module } : {}),
        // The token, not one key: the sign ceremony selects the valid signing key on it (DESIGN §3).
        signingKeyUri: formatPkcs11Uri({ token: c.hsm.signingToken }),
        threshold: c.quorum.threshold,
        custodians: c.quorum.custodians.map((cu) => cu.name),
        trustedKeys: c.trustedBuildKeys,
      };
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
