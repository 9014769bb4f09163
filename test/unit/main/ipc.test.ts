/**
 * The IPC edge: every request is checked for its sender frame and parsed by its zod schema before any
 * handler (and with it the core) runs. Malformed payloads, unknown channels and foreign frames never reach it.
 */
import { describe, expect, it, vi } from 'vitest';
import { CeremonyError } from '../../../ceremony/errors.js';
import { dispatch, registerIpc, type Handlers, type IpcEvent } from '../../../main/ipc.js';
import { CHANNELS, type ApiMethod } from '../../../main/ipc-contract.js';

const ORIGIN = 'app://app';

function frame(url = 'app://app/index.html', parent: unknown = null) {
  return { url, parent };
}
function event(f: ReturnType<typeof frame> | null = frame(), mainFrame: unknown = f): IpcEvent & { sent: unknown[] } {
  const sent: unknown[] = [];
  return { senderFrame: f, sender: { mainFrame, send: (...a: unknown[]) => sent.push(a) }, sent };
}

/** Handlers that record every call: the "core" that must not be reached by a refused request. */
function spyHandlers() {
  const calls: { method: ApiMethod; request: unknown }[] = [];
  const handlers = Object.fromEntries(
    (Object.keys(CHANNELS) as ApiMethod[]).map((m) => [
      m,
      vi.fn(async (request: unknown) => {
        calls.push({ method: m, request });
        return { handled: m };
      }),
    ]),
  ) as unknown as Handlers;
  return { handlers, calls };
}

describe('IPC validation', () => {
  it('a well-formed request from the app window reaches its handler, parsed', async () => {
    const { handlers, calls } = spyHandlers();
    const request = { pin: '123456', confirmedKey: 'AB'.repeat(20), payloadKey: 'pkcs11:token=signing;object=payload-2027' };
    const r = await dispatch(handlers, 'sign:run', event(), request, ORIGIN);
    expect(r).toEqual({ ok: true, value: { handled: 'signRun' } });
    expect(calls).toEqual([{ method: 'signRun', request }]);
  });

  it.each(['shell:openExternal', 'fs:read', 'sign:run ', '__proto__', 'constructor', ''])('the unknown channel %j is refused without reaching the core', async (channel) => {
    const { handlers, calls } = spyHandlers();
    const r = await dispatch(handlers, channel, event(), {}, ORIGIN);
    expect(r).toMatchObject({ ok: false, error: { code: 'USAGE' } });
    expect(calls).toEqual([]);
  });

  it.each([
    ['sign:run', { pin: '123456', confirmedKey: 'AB'.repeat(20), path: '/etc/passwd' }, 'an extra key (a path smuggled in)'],
    ['sign:run', { pin: '123456', confirmedKey: 'AB'.repeat(20), files: ['a.bin'] }, 'a subset of the inbox chosen by the renderer'],
    ['sign:run', { pin: '', confirmedKey: 'AB'.repeat(20) }, 'an empty PIN (a stray Enter must not cost a try)'],
    ['sign:run', { pin: 123456 }, 'a PIN that is not a string'],
    ['sign:run', { pin: 'x'.repeat(257) }, 'an oversized PIN'],
    ['sign:run', { pin: '123456', payloadKey: '/etc/passwd' }, 'a payload key that is not a PKCS#11 URI'],
    ['sign:run', null, 'null'],
    ['renew:add-share', { source: 'path', path: '/etc/shadow' }, 'an unknown share source'],
    ['renew:add-share', { source: 'text', text: 'x'.repeat(20_000) }, 'an oversized share'],
    ['renew:confirm-session', { typed: 'x'.repeat(600) }, 'an oversized session answer'],
    ['renew:confirm-session', { sessionId: '3f9a-12bc-0000-1111' }, 'the old field name'],
    ['sign:run', { pin: '123456' }, 'a PIN without the key the confirmation screen showed'],
    ['airgap:override', { allowNetwork: true }, 'an override without the acknowledgement'],
    ['audit:export', { format: 'exe' }, 'an unknown export format'],
    ['audit:pin-certificate', { path: '/tmp/attacker.asc' }, 'a certificate path chosen by the renderer'],
    ['audit:choose-artifacts', { folder: '/tmp' }, 'an artifacts folder chosen by the renderer'],
    ['job:cancel', { jobId: '../../x' }, 'a malformed job id'],
    ['config:open', { file: '/etc/passwd' }, 'a path where none is accepted'],
    ['backup:open', { out: '/tmp/keys.backup' }, 'a backup file path chosen by the renderer'],
    ['backup:run', { signingPin: '123456', outFile: '/etc/cron.d/x' }, 'an output path smuggled into the run'],
    ['backup:run', { signingPin: '' }, 'an empty PIN for the backup'],
    ['backup:run', { signingPin: 'x'.repeat(257) }, 'an oversized PIN for the backup'],
    ['backup:run', { signingPin: '123456', shares: ['Custodian: alice'] }, 'shares sent with the run instead of through the share entry'],
    ['restore:open', { backupFile: '/tmp/attacker.backup' }, 'a backup file chosen by the renderer'],
    ['restore:run', { signingPin: '123456' }, "a restore without the fresh token's SO PIN"],
    ['restore:run', { signingPin: '123456', soPin: '' }, 'an empty SO PIN'],
    ['restore:run', { signingPin: '123456', soPin: 'operator-so-pin', backupFile: '/tmp/x.backup' }, 'a backup path smuggled into the run'],
  ])('a malformed payload to %s is refused without reaching the core (%#: %s)', async (channel, payload, _what) => {
    const { handlers, calls } = spyHandlers();
    const r = await dispatch(handlers, channel as string, event(), payload, ORIGIN);
    expect(r).toMatchObject({ ok: false, error: { code: 'INPUT_MALFORMED' } });
    expect(calls).toEqual([]);
  });

  it('a refused PIN is not echoed back in the error', async () => {
    const { handlers } = spyHandlers();
    const r = await dispatch(handlers, 'sign:run', event(), { pin: 'hunter2-secret', extra: 1 }, ORIGIN);
    expect(JSON.stringify(r)).not.toContain('hunter2-secret');
  });

  it('a refused restore request echoes neither PIN nor SO PIN', async () => {
    const { handlers } = spyHandlers();
    const r = await dispatch(handlers, 'restore:run', event(), { signingPin: 'hunter2-secret', soPin: 'operator-so-secret', backupFile: '/x' }, ORIGIN);
    expect(r).toMatchObject({ ok: false, error: { code: 'INPUT_MALFORMED' } });
    expect(JSON.stringify(r)).not.toContain('hunter2-secret');
    expect(JSON.stringify(r)).not.toContain('operator-so-secret');
  });

  it.each([
    ['an iframe of the app', event(frame('app://app/index.html', { url: 'app://app/' }))],
    ['a frame from another origin', event(frame('https://evil.example/'))],
    ['a file:// frame', event(frame('file:///tmp/x.html'))],
    ['a frame that is gone', event(null, {})],
    ['a frame that is not the main frame', event(frame(), frame())],
  ])('a request from %s is refused without reaching the core', async (_what, ev) => {
    const { handlers, calls } = spyHandlers();
    const r = await dispatch(handlers, 'airgap:status', ev, undefined, ORIGIN);
    expect(r).toMatchObject({ ok: false, error: { code: 'POLICY_VIOLATION' } });
    expect(calls).toEqual([]);
  });

  it("a core failure comes back as its code and sentence, without a stack", async () => {
    const { handlers } = spyHandlers();
    handlers.signRun = async () => {
      throw new CeremonyError('PIN_INCORRECT', 'the PIN is wrong; 2 attempts are left in this ceremony');
    };
    const r = await dispatch(handlers, 'sign:run', event(), { pin: '0000', confirmedKey: 'AB'.repeat(20) }, ORIGIN);
    expect(r).toEqual({ ok: false, error: { code: 'PIN_INCORRECT', message: 'the PIN is wrong; 2 attempts are left in this ceremony' } });
  });

  it('progress goes back to the calling window only', async () => {
    const { handlers } = spyHandlers();
    handlers.signChooseInbox = async (_r, ctx) => {
      ctx.progress({ jobId: 'job-1', step: 'verify-input', label: 'x', done: 1, total: 2 });
      return null;
    };
    const ev = event();
    await dispatch(handlers, 'sign:choose-inbox', ev, undefined, ORIGIN);
    expect(ev.sent).toEqual([['job:progress', { jobId: 'job-1', step: 'verify-input', label: 'x', done: 1, total: 2 }]]);
  });

  it('registers exactly the channels of the contract', () => {
    const { handlers } = spyHandlers();
    const handle = vi.fn();
    registerIpc({ handle }, handlers, ORIGIN);
    expect(handle.mock.calls.map((c) => c[0]).sort()).toEqual(Object.values(CHANNELS).sort());
  });
});
