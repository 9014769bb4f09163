/**
 * A quorum ceremony that stops early leaves no session open on any token. The app's worker runs many
 * ceremonies in one process, and a session left open there outlives the ceremony: a restore cannot
 * re-initialize a token that has one (CKR_SESSION_EXISTS), and login state is shared by every session
 * of a process (PKCS#11 v2.40 §5.6). The faults this stops, each found by reading the code:
 *  - a backup opened the root session to read the set in force and closed it only if that read failed,
 *    not if the PIN source or the record could not start after it;
 *  - init, renew and backup opened the signing token's session inside their login step and kept it only
 *    once the login succeeded: a wrong maintainer PIN left it open (init's root login did the same).
 */
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeSoftHsm, TEST_SO_PIN, type SoftHsm } from '../../helpers/softhsm.js';
import { writeQuorumConfig } from '../../helpers/quorum-config.js';
import { closeModule } from '../../../ceremony/hsm/module.js';
import { TokenSession } from '../../../ceremony/hsm/token.js';
import { loadConfig } from '../../../ceremony/config.js';
import { runInit } from '../../../ceremony/ceremonies/init.js';
import { runRenew } from '../../../ceremony/ceremonies/renew.js';
import { runBackup } from '../../../ceremony/ceremonies/backup.js';
import type { CeremonyContext } from '../../../ceremony/ceremonies/runner.js';

const PIN = 'maintainer-pin-12';
let hsm: SoftHsm;
let work: string;
let restore: () => void;

function context(recordDir: string, pin = PIN): CeremonyContext {
  return {
    recordDir,
    allowNetwork: true,
    attended: false,
    env: { CEREMONY_PIN: pin, CEREMONY_SO_PIN: TEST_SO_PIN },
    reporter: { step() {}, warn() {} },
    now: () => new Date(),
    recordedOptions: [],
  };
}

function writeConfig(file: string, rootToken: string): string {
  return writeQuorumConfig(work, { file, rootToken, name: 'Sessions Test', email: 'sessions@example.org', threshold: 2, custodians: ['alice', 'bob', 'carol'] });
}

const shares = () => ['alice', 'bob'].map((n) => ({ source: `${n}.share`, text: readFileSync(join(work, 'init/shares', `${n}.share`)) }));

/** Every session TokenSession.open makes from now on, and whether it was closed. */
function trackSessions(): { token: string; closed: boolean }[] {
  const opened: { token: string; closed: boolean }[] = [];
  const open = TokenSession.open.bind(TokenSession);
  vi.spyOn(TokenSession, 'open').mockImplementation((...args: Parameters<typeof TokenSession.open>) => {
    const ts = open(...args);
    const entry = { token: ts.info.label, closed: false };
    opened.push(entry);
    const close = ts.close.bind(ts);
    ts.close = () => {
      entry.closed = true;
      close();
    };
    return ts;
  });
  return opened;
}

beforeAll(async () => {
  hsm = makeSoftHsm('ceremony-sessions-');
  hsm.initToken('signing', PIN);
  restore = hsm.activate();
  work = join(hsm.dir, 'work');
  mkdirSync(work);
  await runInit({ ...context(join(work, 'records')), config: loadConfig(writeConfig('config.json', 'root')), outDir: join(work, 'init') });
}, 180_000);

afterEach(() => vi.restoreAllMocks());

afterAll(() => {
  closeModule();
  restore?.();
  hsm?.cleanup();
});

it('a backup whose record cannot start (its folder is a file): the root session it read the set in force with is closed', async () => {
  const opened = trackSessions();
  const notAFolder = join(work, 'records-is-a-file');
  writeFileSync(notAFolder, 'not a folder');
  await expect(runBackup({ ...context(notAFolder), config: loadConfig(join(work, 'config.json')), outFile: join(work, 'keys.backup'), shares: shares() })).rejects.toMatchObject({ code: 'OUTPUT_FAILED' });
  expect(opened.map((o) => o.token)).toContain('root');
  expect(opened.filter((o) => !o.closed)).toEqual([]);
});

it('a backup with a wrong maintainer PIN: PIN_INCORRECT, and the signing token\'s session is closed', async () => {
  const opened = trackSessions();
  await expect(runBackup({ ...context(join(work, 'records'), 'not-the-pin'), config: loadConfig(join(work, 'config.json')), outFile: join(work, 'keys.backup'), shares: shares() })).rejects.toMatchObject({ code: 'PIN_INCORRECT' });
  expect(opened.map((o) => o.token)).toContain('signing');
  expect(opened.filter((o) => !o.closed)).toEqual([]);
});

it('a renewal with a wrong maintainer PIN: PIN_INCORRECT, and every session is closed', async () => {
  const opened = trackSessions();
  await expect(runRenew({ ...context(join(work, 'records'), 'not-the-pin'), config: loadConfig(join(work, 'config.json')), outDir: join(work, 'renew'), shares: shares() })).rejects.toMatchObject({ code: 'PIN_INCORRECT' });
  expect(opened.map((o) => o.token)).toContain('signing');
  expect(opened.filter((o) => !o.closed)).toEqual([]);
});

it('an init with a wrong maintainer PIN: PIN_INCORRECT, and every session is closed', async () => {
  const opened = trackSessions();
  await expect(runInit({ ...context(join(work, 'records'), 'not-the-pin'), config: loadConfig(writeConfig('config-2.json', 'root-2')), outDir: join(work, 'init-2') })).rejects.toMatchObject({ code: 'PIN_INCORRECT' });
  expect(opened.map((o) => o.token)).toContain('signing');
  expect(opened.filter((o) => !o.closed)).toEqual([]);
});
