/**
 * The line checks of the record review (ceremony/audit/review.ts checkLog) that the mutation run of issue 16 found
 * unpinned by a test of their own. As in review-guards.test.ts, every forged log is re-chained and re-sealed with
 * the record's own key (test/helpers/forged-log.ts), so only the check named by the test can see the edit.
 * Findings are asserted by code and line.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { reviewRecord } from '../../../ceremony/audit/review.js';
import { makeOpenpgpSealer, type TestSealer } from '../../helpers/openpgp-sealer.js';
import { writeSampleRecord } from '../../helpers/audit-records.js';
import { forgeLog, readLog, type LogLine } from '../../helpers/forged-log.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

let sealer: TestSealer;
const work = tempDirs('audit-log-guards-');
beforeAll(async () => {
  sealer = await makeOpenpgpSealer('Ceremony Seal');
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

describe('each line finding tells the auditor where and what', () => {
  const message = (r: { findings: { code: string; message: string }[] }, code: string) => r.findings.filter((f) => f.code === code).map((f) => f.message);

  it('a chain break names the line and what its prev should be', async () => {
    const r = await forged('sign', (ls) => {
      ls[0] = JSON.stringify({ ...(ls[0] as LogLine), prev: 'f'.repeat(64) });
      ls[3] = JSON.stringify({ ...(ls[3] as LogLine), prev: 'f'.repeat(64) });
    });
    expect(message(r, 'chain-break')).toEqual([
      'chain break at line 1: its prev is not the SHA-256 of the genesis value (64 zeros)',
      'chain break at line 4: its prev is not the SHA-256 of line 3',
    ]);
  });

  it('a sequence fault names the line, the number expected and the number found', async () => {
    const r = await forged('sign', (ls) => {
      [1, 2, 3, 3, 6, 2].forEach((seq, i) => ((ls[i] as LogLine).seq = seq));
    });
    expect(message(r, 'sequence-duplicate')).toEqual(['sequence number 3 repeats at line 4']);
    expect(message(r, 'sequence-gap')[0]).toBe('sequence gap at line 5: 4 expected, 6 found');
    expect(message(r, 'sequence-out-of-order')).toEqual(['sequence goes back at line 6: 2 after 6']);
  });

  it('an unknown step is quoted, cut to 40 characters (the log is untrusted)', async () => {
    const r = await forged('sign', (ls) => {
      (ls[2] as LogLine).step = 'x'.repeat(100);
    });
    expect(message(r, 'unknown-step')).toEqual([`line 3 names an unknown step "${'x'.repeat(40)}"`]);
  });

  it('a bad event names the field that is wrong, or the line itself', async () => {
    const r = await forged('sign', (ls) => {
      delete (ls[2] as LogLine).actor;
      ls.splice(4, 0, 'null');
    });
    const [actor, whole] = message(r, 'bad-event');
    expect(actor).toMatch(/^line 3 is not a valid event \(actor: /);
    expect(whole).toMatch(/^line 5 is not a valid event \(line: /);
  });

  it('the start, ceremony, kind and clock findings name the lines and values involved', async () => {
    const r = await forged('sign', (ls) => {
      const first = ls[0] as LogLine;
      (ls[1] as LogLine).parameters = first.parameters;
      const id = first.ceremony as string;
      (ls[2] as LogLine).ceremony = id.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
      (ls[3] as LogLine).kind = 'renew';
      (ls[4] as LogLine).time = '2020-01-01T00:00:00.000Z';
    });
    const id = r.ceremonyId!;
    expect(message(r, 'start-repeated')).toEqual(['line 2 is a second ceremony-start or carries parameters']);
    expect(message(r, 'ceremony-id-mismatch')).toEqual([`line 3 belongs to ceremony ${id.replace(/.$/, (c) => (c === '0' ? '1' : '0'))}, not ${id}`]);
    expect(message(r, 'kind-mismatch')).toEqual(['line 4 says kind renew, not sign']);
    expect(message(r, 'time-backwards')).toEqual(['time goes backwards at line 5 (2020-01-01T00:00:00.000Z)']);
  });

  it('a missing start says what line 1 should have been', async () => {
    const r = await forged('sign', (ls) => delete (ls[0] as LogLine).parameters);
    expect(message(r, 'start-missing')).toEqual(['line 1 is not the ceremony-start event with the ceremony parameters']);
  });
});
