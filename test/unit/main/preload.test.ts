/**
 * The compiled preload (dist/main/preload.cjs, built by the suite's global setup) run against a fake
 * `electron`: it must expose exactly the contract's methods plus onProgress, each bound to its channel,
 * and nothing that reaches ipcRenderer in general.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { CHANNELS, EVENTS } from '../../../main/ipc-contract.js';

const PRELOAD = fileURLToPath(new URL('../../../dist/main/preload.cjs', import.meta.url));

function loadPreload() {
  const exposed: Record<string, Record<string, unknown>> = {};
  const ipcRenderer = { invoke: vi.fn(async () => ({ ok: true, value: null })), on: vi.fn(), removeListener: vi.fn(), send: vi.fn() };
  const electron = { contextBridge: { exposeInMainWorld: (name: string, api: Record<string, unknown>) => (exposed[name] = api) }, ipcRenderer };
  const fakeRequire = (m: string) => {
    if (m === 'electron') return electron;
    throw new Error(`a sandboxed preload cannot require ${m}`);
  };
  const module = { exports: {} };
  new Function('require', 'module', 'exports', readFileSync(PRELOAD, 'utf8'))(fakeRequire, module, module.exports);
  return { exposed, ipcRenderer };
}

describe('preload', () => {
  it('exposes one function per contract channel and onProgress, nothing else', () => {
    const { exposed } = loadPreload();
    expect(Object.keys(exposed)).toEqual(['ceremony']);
    expect(Object.keys(exposed.ceremony!).sort()).toEqual([...Object.keys(CHANNELS), 'onProgress'].sort());
    expect(Object.isFrozen(exposed.ceremony)).toBe(true);
  });

  it('binds each method to its channel and passes only the request', async () => {
    const { exposed, ipcRenderer } = loadPreload();
    for (const [method, channel] of Object.entries(CHANNELS)) {
      ipcRenderer.invoke.mockClear();
      await (exposed.ceremony![method] as (r?: unknown) => Promise<unknown>)({ probe: method });
      expect(ipcRenderer.invoke).toHaveBeenCalledWith(channel, { probe: method });
    }
  });

  it('relays progress without the IPC event object, and unsubscribes', () => {
    const { exposed, ipcRenderer } = loadPreload();
    const listener = vi.fn();
    const off = (exposed.ceremony!.onProgress as (l: unknown) => () => void)(listener);
    const [channel, wrapped] = ipcRenderer.on.mock.calls[0]! as unknown as [string, (e: unknown, p: unknown) => void];
    expect(channel).toBe(EVENTS.progress);
    wrapped({ sender: 'the ipc event' }, { jobId: 'job-1' });
    expect(listener).toHaveBeenCalledWith({ jobId: 'job-1' });
    off();
    expect(ipcRenderer.removeListener).toHaveBeenCalledWith(EVENTS.progress, wrapped);
  });

  it('never requires anything but electron (a sandboxed preload cannot)', () => {
    expect(() => loadPreload()).not.toThrow();
  });
});
