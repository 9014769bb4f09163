/**
 * Each Electron hardening setting, asserted on the options and handlers the real code gives Electron
 * (fakes stand in for BrowserWindow and Session; no Electron binary needed).
 */
import { describe, expect, it, vi } from 'vitest';
import { APP_ENTRY } from '../../../main/app-protocol.js';
import { hardenSession, hardenWebContents, isAppUrl } from '../../../main/hardening.js';
import { createMainWindow, mainWindowOptions } from '../../../main/window.js';
import { menuTemplate } from '../../../main/menu.js';

type Listener = (...args: unknown[]) => unknown;

function fakeContents() {
  const on = new Map<string, Listener>();
  let openHandler: Listener | undefined;
  return {
    on: vi.fn((event: string, l: Listener) => on.set(event, l)),
    setWindowOpenHandler: vi.fn((h: Listener) => (openHandler = h)),
    listener: (event: string) => on.get(event),
    openHandler: () => openHandler,
  };
}

function fakeSession() {
  const captured: Record<string, Listener> = {};
  const on = new Map<string, Listener>();
  return {
    setPermissionRequestHandler: vi.fn((h: Listener) => (captured.request = h)),
    setPermissionCheckHandler: vi.fn((h: Listener) => (captured.check = h)),
    setDevicePermissionHandler: vi.fn((h: Listener) => (captured.device = h)),
    on: vi.fn((event: string, l: Listener) => on.set(event, l)),
    webRequest: { onBeforeRequest: vi.fn((h: Listener) => (captured.beforeRequest = h)) },
    captured,
    listener: (event: string) => on.get(event),
  };
}

function requestVerdict(s: ReturnType<typeof fakeSession>, url: string): boolean {
  let cancel: boolean | undefined;
  s.captured.beforeRequest!({ url, method: 'GET', resourceType: 'xhr' }, (r: { cancel: boolean }) => (cancel = r.cancel));
  return cancel!;
}

describe('the main window', () => {
  const fakeWindows: { options: Record<string, unknown>; loaded: string[]; contents: ReturnType<typeof fakeContents> }[] = [];
  class FakeWindow {
    webContents = fakeContents();
    loaded: string[] = [];
    constructor(readonly options: Record<string, unknown>) {
      fakeWindows.push({ options, loaded: this.loaded, contents: this.webContents });
    }
    loadURL(url: string) {
      this.loaded.push(url);
      return Promise.resolve();
    }
    once() {}
    show() {}
  }

  it('gets isolated, sandboxed webPreferences with no Node and web security on', () => {
    const win = createMainWindow(FakeWindow as never, '/app/dist/main/preload.cjs', { devTools: false }) as unknown as FakeWindow;
    const prefs = win.options.webPreferences as Record<string, unknown>;
    expect(prefs).toMatchObject({
      preload: '/app/dist/main/preload.cjs',
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
      devTools: false,
    });
    expect(win.options.show).toBe(false);
  });

  it('loads the renderer from app://, never file://', () => {
    const win = createMainWindow(FakeWindow as never, '/p.cjs', { devTools: false }) as unknown as FakeWindow;
    expect(win.loaded).toEqual([APP_ENTRY]);
    expect(APP_ENTRY).toBe('app://app/index.html');
  });

  it('registers the navigation and window-open guards on its web contents', () => {
    const win = createMainWindow(FakeWindow as never, '/p.cjs', { devTools: false }) as unknown as FakeWindow;
    const events = win.webContents.on.mock.calls.map((c) => c[0]);
    expect(events).toEqual(expect.arrayContaining(['will-navigate', 'will-frame-navigate', 'will-redirect', 'will-attach-webview']));
    expect(win.webContents.setWindowOpenHandler).toHaveBeenCalledOnce();
  });

  it('keeps devTools off unless asked (release builds)', () => {
    expect((mainWindowOptions('/p.cjs', { devTools: false }).webPreferences as Record<string, unknown>).devTools).toBe(false);
  });
});

describe('web contents guards', () => {
  it.each(['https://evil.example/', 'file:///etc/passwd', 'app://app/index.html', 'http://127.0.0.1:8080/'])('a navigation to %s is denied', (url) => {
    const c = fakeContents();
    hardenWebContents(c as never);
    const preventDefault = vi.fn();
    c.listener('will-navigate')!({ preventDefault, url }, url);
    expect(preventDefault).toHaveBeenCalledOnce();
  });

  it('a redirect and a webview attachment are denied', () => {
    const c = fakeContents();
    hardenWebContents(c as never);
    for (const e of ['will-redirect', 'will-attach-webview', 'will-frame-navigate']) {
      const preventDefault = vi.fn();
      c.listener(e)!({ preventDefault });
      expect(preventDefault, e).toHaveBeenCalledOnce();
    }
  });

  it.each(['https://evil.example/', 'app://app/index.html', 'about:blank'])('window.open(%s) is denied', (url) => {
    const c = fakeContents();
    hardenWebContents(c as never);
    expect(c.openHandler()!({ url, frameName: '', features: '', disposition: 'new-window' })).toEqual({ action: 'deny' });
  });
});

describe('session guards', () => {
  it.each(['media', 'geolocation', 'notifications', 'clipboard-read', 'hid', 'serial', 'openExternal'])('a %s permission request is denied', (permission) => {
    const s = fakeSession();
    hardenSession(s as never);
    const callback = vi.fn();
    s.captured.request!({}, permission, callback, {});
    expect(callback).toHaveBeenCalledWith(false);
    expect(s.captured.check!({}, permission, 'app://app', {})).toBe(false);
  });

  it('a device permission is denied', () => {
    const s = fakeSession();
    hardenSession(s as never);
    expect(s.captured.device!({ deviceType: 'usb', origin: 'app://app' })).toBe(false);
  });

  it.each(['http://127.0.0.1/', 'http://127.0.0.1:9222/json', 'https://example.org/x.js', 'ws://localhost:1234/', 'file:///etc/passwd', 'app://evil/index.html', 'data:text/html,hi', 'devtools://devtools/'])(
    'a request to %s is cancelled',
    (url) => {
      const s = fakeSession();
      hardenSession(s as never);
      expect(requestVerdict(s, url)).toBe(true);
    },
  );

  it("the app's own requests go through", () => {
    const s = fakeSession();
    hardenSession(s as never);
    expect(requestVerdict(s, 'app://app/index.html')).toBe(false);
    expect(requestVerdict(s, 'app://app/assets/index.js')).toBe(false);
  });

  it('downloads are refused', () => {
    const s = fakeSession();
    hardenSession(s as never);
    const preventDefault = vi.fn();
    s.listener('will-download')!({ preventDefault });
    expect(preventDefault).toHaveBeenCalledOnce();
  });

  it('isAppUrl accepts only the app origin', () => {
    expect(isAppUrl('app://app/x')).toBe(true);
    expect(isAppUrl('app://app.evil/x')).toBe(false);
    expect(isAppUrl('not a url')).toBe(false);
  });
});

describe('the menu', () => {
  it('offers no reload or developer tools in a release build', () => {
    const text = JSON.stringify(menuTemplate({ development: false }));
    expect(text).not.toMatch(/toggleDevTools|reload/);
    expect(JSON.stringify(menuTemplate({ development: true }))).toMatch(/toggleDevTools/);
  });
});
