/**
 * The main-process end of the IPC contract: one handler per channel, reached only after the sender frame
 * is checked and the request parsed by its zod schema. Anything else — an unknown channel, a request with an
 * extra key or the wrong type, a call from a frame that is not the app — is refused here and never reaches
 * the core. Failures return `{ ok: false, error: { code, message } }`: Electron would otherwise serialise a
 * thrown Error's message with an "Error invoking remote method" prefix and lose the code.
 */
import type { z } from 'zod';
import { asCeremonyError, CeremonyError } from '../ceremony/errors.js';
import { CHANNELS, REQUESTS, type ApiMethod, type IpcResult, type ProgressEvent, type Responses } from './ipc-contract.js';
import { isTrustedSender, type IpcSender } from './sender.js';

/** What a handler knows about its call besides the request. */
export interface CallContext {
  /** Send a progress event to the window that made the call. */
  progress(event: ProgressEvent): void;
}

export type Handlers = {
  [M in ApiMethod]: (request: z.output<(typeof REQUESTS)[M]>, ctx: CallContext) => Promise<Responses[M]>;
};

export interface IpcEvent extends IpcSender {
  sender: IpcSender['sender'] & { send(channel: string, ...args: unknown[]): void };
}

const METHOD_OF_CHANNEL: ReadonlyMap<string, ApiMethod> = new Map(
  (Object.entries(CHANNELS) as [ApiMethod, string][]).map(([method, channel]) => [channel, method]),
);

function refuse(e: CeremonyError): IpcResult<never> {
  return { ok: false, error: { code: e.code, message: e.message } };
}

/** Route one invoke on `channel`; the single entry point every IPC call goes through. */
export async function dispatch(handlers: Handlers, channel: string, event: IpcEvent, payload: unknown, origin: string): Promise<IpcResult<unknown>> {
  const method = METHOD_OF_CHANNEL.get(channel);
  if (!method) return refuse(new CeremonyError('USAGE', `the app asked for an operation that does not exist (${String(channel).slice(0, 64)})`));
  if (!isTrustedSender(event, origin)) {
    return refuse(new CeremonyError('POLICY_VIOLATION', 'a request came from outside the app window and was refused'));
  }
  const parsed = REQUESTS[method].safeParse(payload);
  if (!parsed.success) {
    // The zod issue paths name fields, never values: a malformed PIN is not echoed back.
    const where = parsed.error.issues.map((i) => i.path.join('.') || '(request)').join(', ');
    return refuse(new CeremonyError('INPUT_MALFORMED', `the app sent a malformed request to ${channel} (${where})`));
  }
  const ctx: CallContext = { progress: (p) => event.sender.send('job:progress', p) };
  try {
    const handler = handlers[method] as (request: unknown, ctx: CallContext) => Promise<unknown>;
    return { ok: true, value: await handler(parsed.data, ctx) };
  } catch (e) {
    return refuse(asCeremonyError(e));
  }
}

/** Register the contract's channels (and only those) on ipcMain. */
export function registerIpc(
  ipcMain: { handle(channel: string, listener: (event: IpcEvent, payload: unknown) => Promise<unknown>): void },
  handlers: Handlers,
  origin: string,
): string[] {
  const channels = Object.values(CHANNELS);
  for (const channel of channels) ipcMain.handle(channel, (event, payload) => dispatch(handlers, channel, event, payload, origin));
  return channels;
}
