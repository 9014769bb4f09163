import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { scanForSecrets, MIN_SECRET_BYTES } from '../../helpers/secret-scan.js';
import { tempDirs } from '../../helpers/temp-dirs.js';

const work = tempDirs('secret-scan-');

const secret = randomBytes(32);
const pin = Buffer.from('482915');
const noise = (n = 200) => randomBytes(n).toString('hex').replace(/[0-9]/g, 'q'); // no digits: cannot contain the PIN by chance

/** Each way a secret could leak into a file, with the encoding the scanner should name. */
const plantings: [string, (s: Buffer) => Buffer | string][] = [
  ['raw', (s) => Buffer.concat([randomBytes(17), s, randomBytes(9)])],
  ['hex', (s) => `{"key":"${s.toString('hex')}"}`],
  ['HEX', (s) => `KEY=${s.toString('hex').toUpperCase()}\n`],
  ['hex:colon', (s) => `fingerprint ${s.toString('hex').match(/../g)!.join(':')}`],
  ['utf16le', (s) => Buffer.from(`x${s.toString('latin1')}y`, 'utf16le')],
  ['json-bytes', (s) => JSON.stringify({ pin: { type: 'Buffer', data: [...s] } })],
  ['base64@0', (s) => `secret: ${s.toString('base64')}`],
  ['base64@1', (s) => Buffer.concat([Buffer.from([7]), s, Buffer.from([1, 2, 3])]).toString('base64')],
  ['base64@2', (s) => Buffer.concat([Buffer.from([7, 9]), s]).toString('base64')],
  ['base64url@0', (s) => `token=${s.toString('base64url')}`],
  ['base64url@1', (s) => Buffer.concat([Buffer.from([200]), s]).toString('base64url')],
];

describe('scanForSecrets finds a planted secret in each encoding', () => {
  for (const [encoding, plant] of plantings) {
    for (const [what, s] of [['32-byte secret', secret], ['PIN', pin]] as const) {
      it(`${what} as ${encoding}`, () => {
        const d = work();
        mkdirSync(join(d, 'nested', 'deeper'), { recursive: true });
        writeFileSync(join(d, 'clean.txt'), noise());
        writeFileSync(join(d, 'nested', 'deeper', 'leak.bin'), plant(s));
        const scan = scanForSecrets([d], [s]);
        expect(scan.filesScanned).toBe(2);
        expect(scan.hits.map((h) => h.encoding)).toContain(encoding);
        expect(new Set(scan.hits.map((h) => h.file))).toEqual(new Set([join(d, 'nested', 'deeper', 'leak.bin')]));
      });
    }
  }

  it('a secret inside an ASCII-armored OpenPGP blob (wrapped base64, any offset) is found', () => {
    for (const offset of [0, 1, 2, 50, 61]) {
      const d = work();
      const blob = Buffer.concat([randomBytes(offset), secret, randomBytes(300)]);
      writeFileSync(join(d, 'x.asc'), openpgp.armor(openpgp.enums.armor.message, blob));
      expect(scanForSecrets([d], [secret]).hits.some((h) => h.encoding.startsWith('base64@')), `offset ${offset}`).toBe(true);
    }
  });

  it('a share given as text is found in its words form: other separators, other case, JSON-escaped newlines', () => {
    const share = 'CEREMONY-SHARE v1\nset 0f1e2d3c index 2/5 alice\nabandon ability able about above absent';
    const d = work();
    writeFileSync(join(d, 'a.json'), JSON.stringify({ note: share.toUpperCase() }));
    writeFileSync(join(d, 'b.txt'), share.split(/\s+/).join('  \t '));
    const scan = scanForSecrets([d], [share]);
    expect(scan.hits.filter((h) => h.encoding === 'text-words').map((h) => h.file).sort()).toEqual([join(d, 'a.json'), join(d, 'b.txt')]);
  });

  it('reports nothing for clean files, and names the secret by index, never by value', () => {
    const d = work();
    writeFileSync(join(d, 'a'), noise());
    writeFileSync(join(d, 'b'), `${pin.toString()}`);
    const scan = scanForSecrets([d], [secret, pin]);
    expect(scan.hits).toEqual([{ file: join(d, 'b'), secret: 1, encoding: 'raw' }]);
    expect(JSON.stringify(scan)).not.toContain(pin.toString());
    expect(scanForSecrets([d], [secret]).hits).toEqual([]);
  });

  it('refuses to scan a folder that does not exist, and a secret too short to search for', () => {
    expect(() => scanForSecrets([join(work(), 'nope')], [secret])).toThrow();
    expect(() => scanForSecrets([work()], [Buffer.alloc(MIN_SECRET_BYTES - 1, 1)])).toThrow();
  });
});
