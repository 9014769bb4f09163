/**
 * Every small forgery of a sealed record's log, generated programmatically, must be caught by the review
 * with a named finding (issue 6): each field of each line edited (with and without re-computing the
 * chain after it), each line deleted, each pair of neighbours swapped, each line duplicated, and the log
 * truncated at every line boundary and in the middle of its last line.
 *
 * Usage (also on records made by the real ceremonies):
 *   const result = await assertEveryMutationCaught(recordDir);   // throws listing any mutation missed
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { reviewRecord, type ReviewOptions } from '../../ceremony/audit/review.js';
import type { Finding } from '../../ceremony/audit/findings.js';

export interface Mutation {
  kind: 'edit' | 'edit-rechained' | 'delete' | 'swap' | 'duplicate' | 'truncate';
  description: string;
  log: Buffer;
  /** True when a later, unchanged line exists, so the hash chain alone (without the seal) must catch it. */
  chainMustCatch: boolean;
}

export interface MutationResult {
  total: number;
  caught: number;
  byKind: Record<Mutation['kind'], number>;
  /** Mutations the chain/sequence checks caught without relying on the seal. */
  caughtWithoutSeal: number;
}

/** Findings that come from the signature alone; everything else is the log's own structure. */
const SEAL_ONLY = new Set(['seal-invalid', 'seal-untrusted', 'seal-key-not-in-record', 'seal-malformed']);

const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** A different value of the same JSON type (or of another type when that is the only way). */
function changed(v: unknown): unknown {
  if (typeof v === 'number') return v + 1;
  if (typeof v === 'boolean') return !v;
  if (typeof v === 'string') {
    if (v.length === 0) return 'x';
    const last = v[v.length - 1]!;
    const swap: Record<string, string> = { '0': '1', a: 'b', A: 'B', f: 'e', F: 'E', Z: 'Y' };
    return v.slice(0, -1) + (swap[last] ?? (last === 'x' ? 'y' : 'x'));
  }
  return null;
}

/** Every leaf path of a parsed line (object keys and array indices). */
function leafPaths(v: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => leafPaths(x, [...path, i]));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => leafPaths(x, [...path, k]));
  return [path];
}

function setPath(obj: unknown, path: (string | number)[], value: unknown): void {
  let o = obj as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) o = o[p] as Record<string | number, unknown>;
  o[path.at(-1)!] = value;
}

function getPath(obj: unknown, path: (string | number)[]): unknown {
  let o = obj as Record<string | number, unknown>;
  for (const p of path) o = o[p] as Record<string | number, unknown>;
  return o;
}

/** Re-compute every `prev` after line `from` (0-based), as a forger who knows the format would. */
function rechain(lines: string[], from: number): string[] {
  const out = [...lines];
  for (let i = from + 1; i < out.length; i++) {
    const o = JSON.parse(out[i]!) as Record<string, unknown>;
    o.prev = sha256Hex(out[i - 1]!);
    out[i] = JSON.stringify(o);
  }
  return out;
}

const join_ = (lines: string[]) => Buffer.from(lines.map((l) => l + '\n').join(''), 'utf8');

export function generateMutations(log: Buffer): Mutation[] {
  const text = log.toString('utf8');
  if (!text.endsWith('\n')) throw new Error('the log to mutate must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const L = lines.length;
  const out: Mutation[] = [];
  for (let i = 0; i < L; i++) {
    const parsed = JSON.parse(lines[i]!) as unknown;
    if (JSON.stringify(parsed) !== lines[i]) throw new Error(`line ${i + 1} is not in the writer's canonical JSON form`);
    for (const path of leafPaths(parsed)) {
      const copy = JSON.parse(lines[i]!) as unknown;
      setPath(copy, path, changed(getPath(copy, path)));
      const edited = [...lines];
      edited[i] = JSON.stringify(copy);
      const where = `line ${i + 1} field ${path.join('.')}`;
      out.push({ kind: 'edit', description: `edit ${where}`, log: join_(edited), chainMustCatch: i < L - 1 || path[0] === 'prev' || path[0] === 'seq' });
      if (i < L - 1 && path[0] !== 'prev') {
        out.push({ kind: 'edit-rechained', description: `edit ${where}, chain recomputed after it`, log: join_(rechain(edited, i)), chainMustCatch: false });
      }
    }
    const deleted = lines.filter((_, j) => j !== i);
    out.push({ kind: 'delete', description: `delete line ${i + 1}`, log: join_(deleted), chainMustCatch: true });
    const dup = [...lines.slice(0, i + 1), lines[i]!, ...lines.slice(i + 1)];
    out.push({ kind: 'duplicate', description: `duplicate line ${i + 1}`, log: join_(dup), chainMustCatch: true });
    if (i < L - 1) {
      const swapped = [...lines];
      [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
      out.push({ kind: 'swap', description: `swap lines ${i + 1} and ${i + 2}`, log: join_(swapped), chainMustCatch: true });
      // Truncation at every line boundary: the sealed record no longer ends with ceremony-end.
      out.push({ kind: 'truncate', description: `truncate after line ${i + 1}`, log: join_(lines.slice(0, i + 1)), chainMustCatch: true });
    }
  }
  out.push({ kind: 'truncate', description: 'truncate to nothing', log: Buffer.alloc(0), chainMustCatch: true });
  const cut = Buffer.from(text.slice(0, text.length - Math.ceil(lines[L - 1]!.length / 2)), 'utf8');
  out.push({ kind: 'truncate', description: 'truncate in the middle of the last line', log: cut, chainMustCatch: true });
  return out;
}

/**
 * Run every mutation of `recordDir`'s log against a copy of the record and require the verdict
 * 'tampered' with at least one named tampering finding; where a later line is untouched, require a
 * finding from the log's own structure too (not only the seal). Throws listing every miss.
 */
export async function assertEveryMutationCaught(recordDir: string, options: ReviewOptions = {}): Promise<MutationResult> {
  const baseline = await reviewRecord(recordDir, options);
  if (baseline.verdict !== 'intact') {
    throw new Error(`the record to mutate must review as intact, not ${baseline.verdict}: ${baseline.summary}`);
  }
  const log = readFileSync(join(recordDir, 'log.jsonl'));
  const parent = mkdtempSync(join(tmpdir(), 'record-mutations-'));
  const copy = join(parent, basename(recordDir));
  cpSync(recordDir, copy, { recursive: true });
  const result: MutationResult = { total: 0, caught: 0, caughtWithoutSeal: 0, byKind: { edit: 0, 'edit-rechained': 0, delete: 0, swap: 0, duplicate: 0, truncate: 0 } };
  const misses: string[] = [];
  try {
    for (const m of generateMutations(log)) {
      result.total++;
      writeFileSync(join(copy, 'log.jsonl'), m.log);
      const r = await reviewRecord(copy, options);
      const tampering = r.findings.filter((f: Finding) => f.class === 'tampered');
      const structural = tampering.filter((f) => !SEAL_ONLY.has(f.code));
      if (r.verdict !== 'tampered' || tampering.length === 0) {
        misses.push(`${m.description}: verdict ${r.verdict} (${r.summary})`);
        continue;
      }
      if (m.chainMustCatch && structural.length === 0) {
        misses.push(`${m.description}: caught only by the seal (${tampering.map((f) => f.code).join(', ')})`);
        continue;
      }
      if (structural.length > 0) result.caughtWithoutSeal++;
      result.caught++;
      result.byKind[m.kind]++;
    }
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
  if (misses.length > 0) throw new Error(`${misses.length} of ${result.total} mutations not caught:\n${misses.join('\n')}`);
  return result;
}
