/**
 * TEST CODE ONLY. Runs the real renderer (dist-app, built by Vite) in Debian's Chromium with the real
 * preload (dist/main/preload.cjs) whose `electron` is replaced by a bridge to the real main-process IPC
 * dispatch (dist/main/ipc.js → desk.js → worker), in this test process. No HTTP server listens anywhere:
 * Playwright intercepts every request; those for the app's stand-in origin are answered by the real app://
 * protocol handler (with its CSP header), everything else is aborted, as the session's onBeforeRequest does.
 * What is faked: the native file dialogs (answers by purpose), the air-gap status when a test fixes it, and
 * printToPDF (Chromium's page.pdf, the same engine Electron's printToPDF uses).
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { checkAirGap } from '../../dist/ceremony/airgap.js';
import { makeAppProtocolHandler } from '../../dist/main/app-protocol.js';
import { createDeskCore } from '../../dist/main/core-wiring.js';
import { createDesk } from '../../dist/main/desk.js';
import { dispatch } from '../../dist/main/ipc.js';
import { CeremonyWorker, channelFromChildProcess } from '../../dist/main/worker/host.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Stands in for app://app: Chromium will not load an unregistered scheme, so the test maps one to the other. */
export const TEST_ORIGIN = 'https://app.ceremony.test';

export type DialogPurpose = 'config' | 'inbox' | 'out-dir' | 'share-file' | 'share-key' | 'record' | 'pin-certificate' | 'artifacts' | 'save-share' | 'save-report' | 'save-backup' | 'backup-file';
export type Answers = Partial<Record<DialogPurpose, string | string[]>>;

export interface OpenedApp {
  /** URLs the renderer tried to reach outside the app (every one aborted). */
  blocked: string[];
  /** Every dialog shown, by purpose. */
  dialogs: DialogPurpose[];
  close(): Promise<void>;
}

export async function openApp(page: Page, opts: { env: NodeJS.ProcessEnv; answers: Answers; airGap?: { airGapped: boolean; interfacesUp: string[] } }): Promise<OpenedApp> {
  const blocked: string[] = [];
  const dialogs: DialogPurpose[] = [];
  const answer = async (purpose: DialogPurpose) => {
    dialogs.push(purpose);
    const a = opts.answers[purpose];
    if (Array.isArray(a)) return a.shift() ?? null;
    return a ?? null;
  };

  const child = fork(`${ROOT}dist/main/worker/entry.js`, [], { serialization: 'advanced', env: opts.env, stdio: 'inherit' });
  const worker = new CeremonyWorker(() => channelFromChildProcess(child));
  const printToPdf = async (html: string) => {
    const p = await page.context().newPage();
    try {
      await p.setContent(html);
      return await p.pdf({ format: 'A4', printBackground: true });
    } finally {
      await p.close();
    }
  };
  const desk = createDesk({
    dialogs: { openFile: (p: DialogPurpose) => answer(p), openFolder: (p: DialogPurpose) => answer(p), saveFile: (p: DialogPurpose) => answer(p) },
    worker,
    airGap: () => opts.airGap ?? checkAirGap(),
    core: createDeskCore(worker, printToPdf),
  });

  const protocol = makeAppProtocolHandler(`${ROOT}dist-app`);
  await page.context().route('**/*', async (route) => {
    const url = route.request().url();
    if (!url.startsWith(`${TEST_ORIGIN}/`)) {
      blocked.push(url);
      return route.abort('blockedbyclient');
    }
    const res: Response = await protocol(new Request(`app://app${url.slice(TEST_ORIGIN.length)}`, { method: route.request().method() }));
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    return route.fulfill({ status: res.status, headers, body: Buffer.from(await res.arrayBuffer()) });
  });

  // The main process's view of the caller: the frame's URL and whether it is the top frame.
  await page.exposeBinding('__ceremonyInvoke', async (source, message: { channel: string; payload?: unknown }) => {
    const frame = { url: source.frame.url(), parent: source.frame.parentFrame() };
    const event = {
      senderFrame: frame,
      sender: {
        mainFrame: source.frame === page.mainFrame() ? frame : {},
        send: (channel: string, data: unknown) => void page.evaluate(([c, d]) => (window as never as { __ceremonyEmit(c: string, d: unknown): void }).__ceremonyEmit(c, d), [channel, data] as const).catch(() => {}),
      },
    };
    return dispatch(desk, message.channel, event, message.payload, TEST_ORIGIN);
  });

  const preload = readFileSync(`${ROOT}dist/main/preload.cjs`, 'utf8');
  await page.addInitScript({
    content: `(() => {
      const listeners = new Map();
      window.__ceremonyEmit = (channel, data) => (listeners.get(channel) || []).forEach((l) => l({}, data));
      const electron = {
        contextBridge: { exposeInMainWorld: (name, api) => Object.defineProperty(window, name, { value: api, writable: false, configurable: false }) },
        ipcRenderer: {
          invoke: (channel, payload) => window.__ceremonyInvoke({ channel, payload }),
          on: (channel, l) => listeners.set(channel, [...(listeners.get(channel) || []), l]),
          removeListener: (channel, l) => listeners.set(channel, (listeners.get(channel) || []).filter((x) => x !== l)),
        },
      };
      const require = (m) => { if (m === 'electron') return electron; throw new Error('sandboxed preload: ' + m); };
      const module = { exports: {} };
      (function (require, module, exports) {\n${preload}\n})(require, module, module.exports);
    })();`,
  });

  await page.goto(`${TEST_ORIGIN}/index.html`);
  return {
    blocked,
    dialogs,
    close: async () => {
      worker.stop();
      await page.context().unroute('**/*');
    },
  };
}
