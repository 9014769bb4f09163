import { describe, expect, it } from 'vitest';
import { PROGRESS_MIN_BYTES, progressFor, progressLine } from '../../../ceremony/cli/progress.js';

const MIB = 1024 * 1024;

function recorder() {
  const writes: string[] = [];
  return { writes, stream: { write: (t: string) => writes.push(t) }, text: () => writes.join('') };
}

describe('hashing progress bar', () => {
  it('draws nothing when stderr is not a terminal, so logs and pipes stay clean', () => {
    expect(progressFor(false)).toBeUndefined();
  });

  it('draws nothing for files small enough to hash in well under a second', () => {
    const r = recorder();
    const p = progressFor(true, r.stream)!;
    p.onProgress('version.txt', 10, 100);
    p.onProgress('version.txt', 100, 100);
    p.stop();
    expect(r.writes).toEqual([]);
  });

  it('redraws one line in place for a large file and ends it with a newline and the cursor shown again', () => {
    const r = recorder();
    const p = progressFor(true, r.stream)!;
    const total = PROGRESS_MIN_BYTES * 2;
    p.onProgress('image.bin', 0, total);
    p.onProgress('image.bin', 1, total); // same text: not redrawn
    p.onProgress('image.bin', total / 2, total);
    p.onProgress('image.bin', total, total);
    const text = r.text();
    expect(text.startsWith('\x1b[?25l\r')).toBe(true);
    expect(text.endsWith('\n\x1b[?25h')).toBe(true);
    expect(text.split('\r')).toHaveLength(4); // three distinct drawings: 0%, 50%, 100%
    expect(text).toContain(`50% ${total / 2 / MIB}/${total / MIB} MiB`);
    expect(text).toContain(`100% ${total / MIB}/${total / MIB} MiB`);
  });

  it('stop() closes a bar left open by a file that failed half-way, and only then', () => {
    const r = recorder();
    const p = progressFor(true, r.stream)!;
    p.onProgress('image.bin', MIB, PROGRESS_MIN_BYTES);
    p.stop();
    p.stop();
    expect(r.text().match(/\n/g)).toHaveLength(1);
  });

  it('the bar is as wide at 0% as at 100%', () => {
    const bar = (s: string) => s.slice(s.indexOf('[') + 1, s.indexOf(']'));
    expect(bar(progressLine('f', 0, 1000))).toHaveLength(40);
    expect(bar(progressLine('f', 1000, 1000))).toBe('\u2588'.repeat(40));
  });
});
