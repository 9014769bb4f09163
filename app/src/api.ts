/**
 * The renderer's only door to the main process: `window.ceremony`, exposed by the preload. Types come from
 * the one IPC contract (type-only import: nothing of main/ is bundled into the renderer).
 */
import type { CeremonyApi, IpcError, IpcResult } from '../../main/ipc-contract.js';

declare global {
  interface Window {
    ceremony: CeremonyApi;
  }
}

export const api = (): CeremonyApi => window.ceremony;

/** Unwrap an IPC result: the value, or a thrown IpcFailure carrying the error's code and sentence. */
export class IpcFailure extends Error {
  constructor(readonly error: IpcError) {
    super(error.message);
  }
}

export async function call<T>(p: Promise<IpcResult<T>>): Promise<T> {
  const r = await p;
  if (!r.ok) throw new IpcFailure(r.error);
  return r.value;
}

export function errorOf(e: unknown): IpcError {
  if (e instanceof IpcFailure) return e.error;
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

/**
 * Run a workspace action: clear the workspace's error line first, and turn a failure into that line (an
 * `error[CODE]` from main, or INTERNAL), never an unhandled rejection.
 */
export async function guarded(setError: (e: IpcError | null) => void, what: () => Promise<void>): Promise<void> {
  setError(null);
  try {
    await what();
  } catch (e) {
    setError(errorOf(e));
  }
}
