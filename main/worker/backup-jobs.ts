/**
 * The worker's backup and restore jobs (issue 11): thin adapters from the worker protocol to the core's
 * ceremonies (ceremony/ceremonies/backup.ts runBackup, restore.ts runRestore), the same code `ceremony
 * backup` and `ceremony restore` run. Every PKCS#11 session is opened and closed inside the core.
 *
 * PINs reach the core through the env object of THIS call (an in-memory copy, never process.env nor a
 * child's environment), the only PIN source the ceremonies offer besides a file or a terminal. Shares are
 * handed over as views of the job's own bytes, so the core's wipe after use wipes them here too.
 */
import { backupSetInForce, runBackup } from '../../ceremony/ceremonies/backup.js';
import { openBackupFile, runRestore } from '../../ceremony/ceremonies/restore.js';
import type { ShareSource } from '../../ceremony/ceremonies/quorum-shares.js';
import type { OptionEntry } from '../../ceremony/audit/events.js';
import { loadConfig, type CeremonyConfig } from '../../ceremony/config.js';
import { formatQuorumId } from '../../ceremony/read-aloud.js';
import type { QuorumSetDescriptor } from '../../ceremony/quorum/index.js';
import type { QuorumSetView } from '../ipc-contract.js';
import type { Job } from './job.js';
import { reporterFor, type HeardStep } from './reporter.js';

type BackupJobs = { 'backup.open': Job<'backup.open'>; 'backup.run': Job<'backup.run'>; 'restore.open': Job<'restore.open'>; 'restore.run': Job<'restore.run'> };

function setView(set: QuorumSetDescriptor, config: CeremonyConfig): QuorumSetView {
  return { setId: formatQuorumId(set.setId), threshold: set.threshold, custodians: set.custodians, rootToken: config.hsm.rootToken, signingToken: config.hsm.signingToken };
}

/** The job's share bytes, shared with the core (no copy), which wipes each one once offered. */
function sharesOf(shares: { source: string; text: Uint8Array }[]): ShareSource[] {
  return shares.map((s) => ({ source: s.source, text: Buffer.from(s.text.buffer, s.text.byteOffset, s.text.byteLength) }));
}

/** Options as the CLI records them (names and paths only), for the record's first line. */
function recorded(extra: OptionEntry[], p: { recordDir: string; allowNetwork: boolean }): OptionEntry[] {
  return [...extra, { name: 'record-dir', value: p.recordDir }, ...(p.allowNetwork ? [{ name: 'allow-network' as const, value: true }] : [])];
}

/** A PIN from the request, in an env object made for one call; no CEREMONY_* secret of the process leaks in. */
function envWith(pins: { CEREMONY_PIN: Uint8Array; CEREMONY_SO_PIN?: Uint8Array }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.CEREMONY_PIN;
  delete env.CEREMONY_SO_PIN;
  for (const [name, pin] of Object.entries(pins)) if (pin) env[name] = Buffer.from(pin).toString('utf8');
  return env;
}

export const BACKUP_JOBS: BackupJobs = {
  'backup.open': async (params, ctx) => {
    ctx.progress('load-config', 'reading the quorum set in force on the root token', 0, 1);
    const config = loadConfig(params.configFile);
    const set = backupSetInForce(config, { env: process.env });
    ctx.progress('load-config', 'both tokens can wrap keys for a backup', 1, 1);
    return { view: setView(set, config), expected: set };
  },
  'backup.run': async (params, ctx) => {
    const config = loadConfig(params.configFile);
    const env = envWith({ CEREMONY_PIN: params.signingPin });
    try {
      const r = await runBackup({
        config,
        outFile: params.outFile,
        shares: sharesOf(params.shares),
        recordDir: params.recordDir,
        allowNetwork: params.allowNetwork,
        attended: true,
        env,
        reporter: reporterFor(ctx),
        now: () => new Date(),
        recordedOptions: recorded(
          [
            { name: 'config', value: params.configFile },
            { name: 'out', value: params.outFile },
          ],
          params,
        ),
      });
      return { savedAs: r.path, setId: formatQuorumId(r.setId), keys: r.keys, notBackedUp: r.notBackedUp, record: { id: r.record.ceremonyId, folder: r.record.dir } };
    } finally {
      delete env.CEREMONY_PIN;
    }
  },
  'restore.open': async (params, ctx) => {
    ctx.progress('load-config', 'reading the backup file', 0, 1);
    const config = loadConfig(params.configFile);
    const { opened, descriptor } = openBackupFile(params.backupFile);
    ctx.progress('load-config', 'the backup names its quorum set; it is authenticated once the shares are in', 1, 1);
    return { view: { purpose: 'restore', created: opened.body.created, ...setView(descriptor, config) }, expected: descriptor };
  },
  'restore.run': async (params, ctx) => {
    const config = loadConfig(params.configFile);
    const env = envWith({ CEREMONY_PIN: params.signingPin, CEREMONY_SO_PIN: params.soPin });
    const heard: HeardStep[] = [];
    try {
      const r = await runRestore({
        config,
        backupFile: params.backupFile,
        shares: sharesOf(params.shares),
        recordDir: params.recordDir,
        allowNetwork: params.allowNetwork,
        attended: true,
        env,
        reporter: reporterFor(ctx, heard),
        now: () => new Date(),
        recordedOptions: recorded(
          [
            { name: 'config', value: params.configFile },
            { name: 'backup', value: params.backupFile },
          ],
          params,
        ),
      });
      // runRestore returns only after its self-check step held; its sentence is what the record says.
      const selfCheck = heard.findLast((h) => h.step === 'self-check' && h.state === 'done')?.detail ?? `${r.restored.length} keys passed the self-check`;
      return { setId: formatQuorumId(r.setId), restored: r.restored, selfCheck, record: { id: r.record.ceremonyId, folder: r.record.dir } };
    } finally {
      delete env.CEREMONY_PIN;
      delete env.CEREMONY_SO_PIN;
    }
  },
};
