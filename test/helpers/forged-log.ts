/**
 * A forger who knows the record format (issue 16): read a record's log as objects, edit it, write it back with
 * every prev recomputed from the genesis value (docs/RECORD-FORMAT.md) and the log sealed again with a key the
 * test holds. Only the structure checks of the review can then see the edit, not the chain or the seal.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { TestSealer } from './openpgp-sealer.js';

export type LogLine = Record<string, unknown>;

const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

export function readLog(dir: string): LogLine[] {
  return readFileSync(join(dir, 'log.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as LogLine);
}

/** Write `lines` (objects, or raw text for a line that is not an event) as the log, re-chained and re-sealed. */
export async function forgeLog(dir: string, lines: (LogLine | string)[], sealer: TestSealer): Promise<void> {
  const out: string[] = [];
  for (const [i, l] of lines.entries()) {
    if (typeof l === 'string') {
      out.push(l);
      continue;
    }
    l.prev = i === 0 ? '0'.repeat(64) : sha256Hex(out[i - 1]!);
    out.push(JSON.stringify(l));
  }
  const log = Buffer.from(out.join('\n') + '\n');
  writeFileSync(join(dir, 'log.jsonl'), log);
  writeFileSync(join(dir, 'log.jsonl.asc'), await sealer.sign(log));
}
