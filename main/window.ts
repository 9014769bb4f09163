/**
 * The one window of the app. Built from parameters (the BrowserWindow class, the preload path) so the unit
 * tests construct it with a fake class and read back the exact options Electron would get.
 */
import type { BrowserWindow, BrowserWindowConstructorOptions } from 'electron';
import { APP_ENTRY } from './app-protocol.js';
import { hardenWebContents, secureWebPreferences } from './hardening.js';

export function mainWindowOptions(preloadPath: string, opts: { devTools: boolean }): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 860,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Signing ceremony',
    autoHideMenuBar: false,
    webPreferences: secureWebPreferences(preloadPath, opts),
  };
}

type WindowClass = new (options: BrowserWindowConstructorOptions) => Pick<BrowserWindow, 'webContents' | 'loadURL' | 'once' | 'show'>;

export function createMainWindow<W extends WindowClass>(Window: W, preloadPath: string, opts: { devTools: boolean }): InstanceType<W> {
  const win = new Window(mainWindowOptions(preloadPath, opts)) as InstanceType<W>;
  hardenWebContents(win.webContents);
  win.once('ready-to-show', () => win.show());
  void win.loadURL(APP_ENTRY);
  return win;
}
