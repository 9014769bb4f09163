/**
 * The jobs the ceremony worker runs: the one place where the app reaches the ceremony core. Each job is a
 * thin adapter from the worker protocol to a core function; the work itself (verifying, signing, quorum,
 * review) lives in ceremony/ and is the same code the CLI runs.
 *
 * Where a core ceremony has not landed yet, its job fails with a plain sentence naming the missing piece
 * (`notWired`) instead of pretending: the UI shows that error like any other.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile } from '../../ceremony/crypto.js';
import { CeremonyError } from '../../ceremony/errors.js';
import type { InboxFile } from '../ipc-contract.js';
import type { JobName, JobSpecs } from './protocol.js';

export interface JobContext {
  signal: AbortSignal;
  progress(step: string, label: string, done: number, total: number): void;
}

export type Job<J extends JobName> = (params: JobSpecs[J]['params'], ctx: JobContext) => Promise<JobSpecs[J]['result']>;
export type JobTable = { [J in JobName]: Job<J> };

/** The inbox may hold a release, its signatures and DIGESTS, and payloads; nothing else is read. */
export const INBOX_LIMITS = { maxFiles: 1000 } as const;

function notWired(what: string): never {
  throw new CeremonyError('INTERNAL', `${what} is not wired into the app yet; run it with the ceremony command line`);
}

export function classify(name: string): InboxFile['kind'] {
  if (/\.(sig|asc)$/.test(name)) return name.includes('.DIGESTS') ? 'digests' : 'signature';
  if (/\.DIGESTS$/.test(name)) return 'digests';
  if (/(^|[._-])payload|\.gz$|\.bin$/.test(name)) return 'payload';
  return 'release';
}

function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new CeremonyError('CANCELLED', 'the work was cancelled; nothing was written');
}

/** Every regular file of the inbox with its size and SHA-256 (one streaming pass per file). */
export async function hashInbox(folder: string, ctx: JobContext): Promise<{ name: string; size: number; sha256: string }[]> {
  let names: string[];
  try {
    names = (await readdir(folder, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name).sort();
  } catch (e) {
    throw new CeremonyError('INPUT_UNREADABLE', `the inbox folder ${folder} cannot be read`, { cause: e });
  }
  if (names.length > INBOX_LIMITS.maxFiles) {
    throw new CeremonyError('INPUT_MALFORMED', `the inbox holds ${names.length} files; at most ${INBOX_LIMITS.maxFiles} are accepted`);
  }
  const out: { name: string; size: number; sha256: string }[] = [];
  for (const [i, name] of names.entries()) {
    throwIfCancelled(ctx.signal);
    ctx.progress('verify-input', `hashing ${name}`, i, names.length);
    const path = join(folder, name);
    const { size } = await stat(path);
    const { sha256 } = await hashFile(path, ['sha256'] as const);
    out.push({ name, size, sha256: sha256.toString('hex') });
  }
  ctx.progress('verify-input', 'hashed every file', names.length, names.length);
  return out;
}

export const JOBS: JobTable = {
  'inbox.scan': async (params, ctx) => {
    await hashInbox(params.folder, ctx);
    return notWired('verifying the inbox (ceremony/release)');
  },
  'sign.run': async () => notWired('the sign-update ceremony (ceremony/release)'),
  'renew.open': async () => notWired('opening a renewal (the renew ceremony: root token descriptor, new validity window)'),
  'renew.run': async () => notWired('the renewal ceremony (ceremony/quorum)'),
  'audit.review': async () => notWired('the record review (ceremony/audit review)'),
  'audit.report': async () => notWired('the audit report (ceremony/audit report)'),
};
