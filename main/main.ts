/**
 * The Electron main process: registers the app:// scheme, hardens the session and every web contents,
 * opens the one window, starts the ceremony worker (a utility process that owns the HSM), and serves the
 * IPC contract. Everything here is wiring; the policies live in hardening.ts, app-protocol.ts, ipc.ts,
 * desk.ts, each unit-tested without Electron.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session, utilityProcess } from 'electron';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkAirGap } from '../ceremony/airgap.js';
import { APP_ORIGIN, APP_SCHEME, APP_SCHEME_PRIVILEGES, makeAppProtocolHandler } from './app-protocol.js';
import { createDeskCore } from './core-wiring.js';
import { createDesk, type Dialogs } from './desk.js';
import { hardenSession, hardenWebContents, secureWebPreferences } from './hardening.js';
import { registerIpc } from './ipc.js';
import { menuTemplate } from './menu.js';
import { createMainWindow } from './window.js';
import { CeremonyWorker, type WorkerChannel } from './worker/host.js';
import type { FromWorker } from './worker/protocol.js';

const here = dirname(fileURLToPath(import.meta.url));
const rendererRoot = join(here, '..', '..', 'dist-app');
const preloadPath = join(here, 'preload.cjs');
const workerPath = join(here, 'worker', 'boot.cjs');
const development = !app.isPackaged;

// Must happen before `ready` (Electron: protocol.registerSchemesAsPrivileged).
protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
app.enableSandbox();

function spawnWorker(): WorkerChannel {
  const child = utilityProcess.fork(workerPath, [], { serviceName: 'ceremony-worker', stdio: 'inherit' });
  return {
    postMessage: (m) => child.postMessage(m),
    onMessage: (l) => void child.on('message', (m) => l(m as FromWorker)),
    onExit: (l) => void child.on('exit', l),
    kill: () => void child.kill(),
  };
}

function nativeDialogs(parent: () => BrowserWindow | undefined): Dialogs {
  const win = () => parent() as BrowserWindow;
  return {
    openFile: async (_purpose, title) => (await dialog.showOpenDialog(win(), { title, properties: ['openFile'] })).filePaths[0] ?? null,
    openFolder: async (_purpose, title) => (await dialog.showOpenDialog(win(), { title, properties: ['openDirectory', 'createDirectory'] })).filePaths[0] ?? null,
    saveFile: async (_purpose, title, defaultPath) => (await dialog.showSaveDialog(win(), { title, defaultPath })).filePath || null,
  };
}

/**
 * printToPDF in a hidden, equally hardened window with JavaScript off, in its own in-memory session whose
 * only allowed request is the report itself (static HTML as a data: URL).
 */
const PRINT_PARTITION = 'report-print';
async function printToPdf(html: string): Promise<Uint8Array> {
  const printSession = session.fromPartition(PRINT_PARTITION);
  hardenSession(printSession, (url) => url.startsWith('data:text/html;'));
  const win = new BrowserWindow({
    show: false,
    webPreferences: { ...secureWebPreferences(preloadPath, { devTools: false }), preload: undefined, javascript: false, partition: PRINT_PARTITION },
  });
  try {
    await win.loadURL(`data:text/html;charset=utf-8,${encodeURIComponent(html)}`);
    return await win.webContents.printToPDF({ printBackground: true, pageSize: 'A4' });
  } finally {
    win.destroy();
  }
}

app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));

void app.whenReady().then(() => {
  hardenSession(session.defaultSession);
  protocol.handle(APP_SCHEME, makeAppProtocolHandler(rendererRoot));
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate({ development })));
  const worker = new CeremonyWorker(spawnWorker);
  const windows: { main?: BrowserWindow } = {};
  const desk = createDesk({
    dialogs: nativeDialogs(() => windows.main),
    worker,
    airGap: () => checkAirGap(),
    core: createDeskCore(worker, printToPdf),
  });
  registerIpc(ipcMain, desk, APP_ORIGIN);
  windows.main = createMainWindow(BrowserWindow, preloadPath, { devTools: development });
  app.on('before-quit', () => worker.stop());
});

app.on('window-all-closed', () => app.quit());
