/**
 * The line checks of the record review (ceremony/audit/review.ts checkLog) that the mutation run of issue 16 found
 * unpinned by a test of their own. As in review-guards.test.ts, every forged log is re-chained and re-sealed with
 * the record's own key (test/helpers/forged-log.ts), so only the check named by the test can see the edit.
 * Findings are asserted by code and line.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reviewRecord } from '../../../ceremony/audit/review.js';
import { makeOpenpgpSealer, type TestSealer } from '../../helpers/openpgp-sealer.js';
import { writeSampleRecord } from '../../helpers/audit-records.js';
import { forgeLog, readLog, type LogLine } from '../../helpers/forged-log.js';

let sealer: TestSealer;
const dirs: string[] = [];
const work = () => {
  const d = mkdtempSync(join(tmpdir(), 'audit-log-guards-'));
  dirs.push(d);
  return d;
};
beforeAll(async () => {
  sealer = await makeOpenpgpSealer('Ceremony Seal');
});
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const at = (r: { findings: { code: string; line?: number }[] }, code: string) => r.findings.filter((f) => f.code === code).map((f) => f.line);

async function forged(kind: 'sign' | 'payload-sign', edit: (lines: (LogLine | string)[]) => void) {
  const dir = await writeSampleRecord(work(), kind, sealer);
  const lines: (LogLine | string)[] = readLog(dir);
  edit(lines);
  await forgeLog(dir, lines, sealer);
  return reviewRecord(dir);
}

describe('the start of the ceremony is where its parameters are, and only there', () => {
  it('stops a ceremony-start stripped of its parameters (the overrides and inputs it ran with hidden)', async () => {
    const r = await forged('payload-sign', (ls) => delete (ls[0] as LogLine).parameters);
    expect(r.verdict).toBe('tampered');
    expect(at(r, 'start-missing')).toEqual([1]);
  });

  it('stops parameters smuggled onto a later line (a second set of parameters mid-way)', async () => {
    const r = await forged('sign', (ls) => {
      (ls[3] as LogLine).parameters = (ls[0] as LogLine).parameters;
    });
    expect(r.verdict).toBe('tampered');
    expect(at(r, 'start-repeated')).toEqual([4]);
  });
});

describe('a start that is not a start', () => {
  it('stops a first line of another step that carries the parameters (the start renamed away)', async () => {
    const r = await forged('sign', (ls) => {
      (ls[0] as LogLine).step = 'verify-input';
    });
    expect(at(r, 'start-missing')).toEqual([1]);
  });

  it('stops a second ceremony-start without parameters in the middle of a log', async () => {
    const r = await forged('sign', (ls) => {
      const restart = { ...(ls[0] as LogLine) };
      delete restart.parameters;
      ls.splice(3, 0, restart);
      (ls as LogLine[]).forEach((l, i) => (l.seq = i + 1));
    });
    expect(at(r, 'start-repeated')).toEqual([4]);
  });
});

describe('lines that are JSON but not an event object', () => {
  it.each([['null'], ['[]'], ['7'], ['"a string"']])('a line %s is a bad event at its line, never a crash', async (raw) => {
    const r = await forged('sign', (ls) => ls.splice(2, 0, raw));
    expect(r.verdict).toBe('tampered');
    expect(at(r, 'bad-event')).toEqual([3]);
    expect(at(r, 'chain-break')).toEqual([3]);
  });

  it('a step that is not a string is a bad event, not an unknown step and not a crash', async () => {
    const r = await forged('sign', (ls) => {
      (ls[2] as LogLine).step = 42;
    });
    expect(at(r, 'bad-event')).toEqual([3]);
    expect(at(r, 'unknown-step')).toEqual([]);
  });

  it('a sequence number written as a string is a bad event, and the next line is counted from the last number seen', async () => {
    const r = await forged('sign', (ls) => {
      (ls[2] as LogLine).seq = '3';
    });
    expect(at(r, 'bad-event')).toEqual([3]);
    // "3" is not a number: line 4 (seq 4) follows seq 2, a gap, not a string compared with numbers
    expect(at(r, 'sequence-gap')).toEqual([4]);
  });
});

describe('the clock and the end of the log', () => {
  it('stops a re-sealed log whose clock goes back a minute (a back-dated step), named at its line', async () => {
    const r = await forged('sign', (ls) => {
      (ls[4] as LogLine).time = new Date(Date.parse((ls[3] as LogLine).time as string) - 60_000).toISOString();
    });
    expect(r.verdict).toBe('tampered');
    expect(at(r, 'time-backwards')).toEqual([5]);
  });

  it('two steps at the same instant are not a clock going back', async () => {
    const r = await forged('sign', (ls) => {
      (ls[4] as LogLine).time = (ls[3] as LogLine).time;
    });
    expect(at(r, 'time-backwards')).toEqual([]);
    expect(r.verdict).toBe('intact');
  });

  it('stops a second ceremony-end (steps slipped in after the first end, closed again): each is named after the first end', async () => {
    const r = await forged('sign', (ls) => {
      const end = ls.at(-1) as LogLine;
      const sign = (ls as LogLine[]).find((l) => l.step === 'sign')!;
      const n = ls.length;
      ls.push({ ...sign, seq: n + 1, time: end.time }, { ...end, seq: n + 2 }, { ...sign, seq: n + 3, time: end.time });
    });
    expect(r.verdict).toBe('tampered');
    const lines = r.lineCount;
    expect(at(r, 'event-after-end')).toEqual([lines - 2, lines - 1, lines]);
    for (const f of r.findings.filter((x) => x.code === 'event-after-end')) expect(f.message).toContain(`after ceremony-end at line ${lines - 3}`);
  });
});
