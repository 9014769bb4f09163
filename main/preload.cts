/**
 * The preload of the sandboxed renderer. A sandboxed preload can require only `electron` (and a few
 * polyfilled builtins), not our own modules, so the channel map is repeated here; a unit test keeps it equal
 * to CHANNELS in ipc-contract.ts. It exposes exactly one function per channel through contextBridge (never
 * ipcRenderer itself, never a generic `invoke(channel)`), and lets only the progress event through.
 */
import type { CeremonyApi, ProgressEvent } from './ipc-contract.js' with { 'resolution-mode': 'import' };

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { contextBridge, ipcRenderer } = require('electron') as typeof import('electron');

const PRELOAD_CHANNELS = {
  airGapStatus: 'airgap:status',
  airGapOverride: 'airgap:override',
  configOpen: 'config:open',
  signChooseInbox: 'sign:choose-inbox',
  signRun: 'sign:run',
  signOpenRecord: 'sign:open-record',
  renewOpen: 'renew:open',
  renewConfirmSession: 'renew:confirm-session',
  renewAddShare: 'renew:add-share',
  renewRun: 'renew:run',
  renewHandOutShare: 'renew:hand-out-share',
  backupOpen: 'backup:open',
  backupRun: 'backup:run',
  restoreOpen: 'restore:open',
  restoreRun: 'restore:run',
  auditOpen: 'audit:open',
  auditPinCertificate: 'audit:pin-certificate',
  auditChooseArtifacts: 'audit:choose-artifacts',
  auditExport: 'audit:export',
  jobCancel: 'job:cancel',
} as const;
const PROGRESS_EVENT = 'job:progress';

const api: Record<string, unknown> = {};
for (const [method, channel] of Object.entries(PRELOAD_CHANNELS)) {
  // Only the request object crosses; the event object stays out of the renderer's reach.
  api[method] = (request?: unknown) => ipcRenderer.invoke(channel, request);
}
api.onProgress = (listener: (event: ProgressEvent) => void) => {
  const wrapped = (_event: unknown, progress: ProgressEvent) => listener(progress);
  ipcRenderer.on(PROGRESS_EVENT, wrapped);
  return () => {
    ipcRenderer.removeListener(PROGRESS_EVENT, wrapped);
  };
};

contextBridge.exposeInMainWorld('ceremony', Object.freeze(api) as unknown as CeremonyApi);
