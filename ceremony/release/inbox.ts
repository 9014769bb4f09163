/**
 * The inbox: the folder a maintainer carries from the build server, holding release files, update payloads
 * and the signatures, DIGESTS and provenance beside them. What is in it, what each file is (by content, not
 * name) and which supporting files the verification reads; the app's inbox screen and its sign job list it
 * through here, and verification finds the same files by the same rules (verify-release.ts, builders.ts,
 * provenance/check.ts).
 */
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CeremonyError } from '../errors.js';
import { openRegularFile } from '../files.js';
import { CRAU_MAGIC } from '../payload/format.js';
import { findProvenanceFor } from '../provenance/check.js';
import { findBuilderDigests } from './builders.js';
import { findDigestsFor, findSignatureFor } from './verify-release.js';

export type InboxFileKind = 'release' | 'payload' | 'signature' | 'digests';

/** The inbox may hold a release, its signatures and DIGESTS, and payloads; nothing else is read. */
export const INBOX_LIMITS = { maxFiles: 1000 } as const;

/**
 * What a file of the inbox is. A file to sign is an update payload when its content says so (the 4-byte
 * "CrAU" magic of update_engine's update_metadata.proto header), never because of its name: the name of
 * `flatcar_production_image.bin` says nothing about how it must be signed.
 */
export function classify(name: string, head?: Uint8Array): InboxFileKind {
  if (/\.(sig|asc)$/.test(name)) return name.includes('.DIGESTS') ? 'digests' : 'signature';
  if (/\.DIGESTS$/.test(name)) return 'digests';
  if (head && head.length >= CRAU_MAGIC.length && Buffer.from(head.subarray(0, CRAU_MAGIC.length)).equals(CRAU_MAGIC)) return 'payload';
  return 'release';
}

/** The first bytes of a file (fewer when it is shorter), enough for classify(). */
export async function headOf(path: string): Promise<Buffer> {
  // Opened without blocking and checked on the descriptor: a FIFO put in the inbox is refused, not waited on.
  const { fh } = await openRegularFile(path, 'inbox file');
  try {
    const buf = Buffer.alloc(CRAU_MAGIC.length);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } catch (e) {
    throw new CeremonyError('INPUT_UNREADABLE', `${basename(path)} cannot be read`, { cause: e });
  } finally {
    await fh.close();
  }
}

/** The files to sign split by kind, from their content. */
export async function splitInbox(folder: string, names: string[]): Promise<{ releases: string[]; payloads: string[] }> {
  const releases: string[] = [];
  const payloads: string[] = [];
  for (const n of names) (classify(n, await headOf(join(folder, n))) === 'payload' ? payloads : releases).push(n);
  return { releases, payloads };
}

/**
 * The signatures and DIGESTS the verification of `main` reads, by the core's own lookup rule
 * (findSignatureFor / findDigestsFor), and each configured builder's DIGESTS (findBuilderDigests, issue 15),
 * each file's provenance when a policy asks for it (findProvenanceFor), and the rest of the supporting files,
 * which no listed file uses.
 */
export function supportingFilesOf(folder: string, main: string[], supporting: string[], builders: readonly string[] = [], provenance = false): { used: string[]; unused: string[] } {
  const present = new Set(supporting.map((n) => join(folder, n)));
  const exists = (p: string) => present.has(p);
  const used = new Set<string>();
  for (const n of main) {
    const file = join(folder, n);
    const sig = findSignatureFor(file, exists);
    const digests = findDigestsFor(file, exists);
    for (const p of [sig, digests, digests && !digests.endsWith('.asc') ? findSignatureFor(digests, exists) : null]) if (p) used.add(basename(p));
    for (const name of builders) {
      const listed = findBuilderDigests(file, name, exists);
      for (const p of [listed, listed && !listed.endsWith('.asc') ? findSignatureFor(listed, exists) : null]) if (p) used.add(basename(p));
    }
    // FILE.intoto.jsonl is read only when the config has a provenance policy (provenance/check.ts).
    const statement = provenance ? findProvenanceFor(file, exists) : null;
    if (statement) used.add(basename(statement));
  }
  return { used: supporting.filter((n) => used.has(n)), unused: supporting.filter((n) => !used.has(n)) };
}

/** Signatures and DIGESTS are read by the verification of the file they belong to, not verified alone. */
export function isSupportingFile(name: string): boolean {
  // FILE.DIGESTS.<builder> and FILE.intoto.jsonl: independent builders' lists and provenance (issue 15).
  return /\.(sig|asc)$/.test(name) || /\.DIGESTS(\.[a-z0-9][a-z0-9._-]*)?$/.test(name) || /\.intoto\.jsonl$/.test(name);
}

/** List the inbox: the files to verify and the supporting files beside them. */
export async function listInbox(folder: string): Promise<{ main: string[]; supporting: string[] }> {
  let names: string[];
  try {
    names = (await readdir(folder, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name).sort();
  } catch (e) {
    throw new CeremonyError('INPUT_UNREADABLE', `the inbox folder ${folder} cannot be read`, { cause: e });
  }
  if (names.length > INBOX_LIMITS.maxFiles) {
    throw new CeremonyError('INPUT_MALFORMED', `the inbox holds ${names.length} files; at most ${INBOX_LIMITS.maxFiles} are accepted`);
  }
  return { main: names.filter((n) => !isSupportingFile(n)), supporting: names.filter(isSupportingFile) };
}
