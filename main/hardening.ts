/**
 * Electron hardening (Electron security checklist; Signal-Desktop's handleCommonWindowEvents): every setting
 * is a function of the objects it configures, so unit tests assert it on fakes without an Electron binary.
 */
import type { Session, WebContents, WebPreferences } from 'electron';
import { APP_ORIGIN } from './app-protocol.js';

/** The renderer's webPreferences: isolated, sandboxed, no Node, web security on, nothing experimental. */
export function secureWebPreferences(preloadPath: string, opts: { devTools: boolean }): WebPreferences {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
    devTools: opts.devTools,
  };
}

/** True only for the app's own origin: app://app/… */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}` === APP_ORIGIN;
  } catch {
    return false;
  }
}

type Preventable = { preventDefault(): void };

/**
 * No navigation at all: the renderer is a single page that never leaves index.html, so any navigation is an
 * attack (a link, a drag-and-drop, a script setting location). New windows are denied, webviews refused.
 */
export function hardenWebContents(contents: Pick<WebContents, 'on' | 'setWindowOpenHandler'>): void {
  const deny = (event: Preventable) => event.preventDefault();
  contents.on('will-navigate', deny);
  contents.on('will-frame-navigate', deny);
  contents.on('will-redirect', deny);
  contents.on('will-attach-webview', deny);
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/**
 * The session: every permission (camera, notifications, HID, serial, clipboard, …) refused, both the request
 * and the check; downloads refused; every request that is not app:// cancelled — so no remote content, and
 * no loopback server (http://127.0.0.1) either.
 */
export function hardenSession(
  session: Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler' | 'on'> & {
    webRequest: Pick<Session['webRequest'], 'onBeforeRequest'>;
  },
  isAllowedUrl: (url: string) => boolean = isAppUrl,
): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
  session.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !isAllowedUrl(details.url) }));
  session.on('will-download', (event) => event.preventDefault());
}
