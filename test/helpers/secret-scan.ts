/**
 * Search every file under some folders for secrets (PINs, the quorum secret, shares) in every encoding a
 * leak is likely to take: raw bytes, hex (lower, upper, colon-separated), base64 (at each of the three
 * byte alignments, so a secret inside a larger base64 or ASCII-armored blob is found even across line
 * breaks), base64url, UTF-16LE, a JSON byte array (Buffer.toJSON), and for text secrets (a share's text
 * envelope or its words) the text itself with any whitespace between its words, case-insensitively,
 * including JSON-escaped newlines.
 *
 *   const scan = scanForSecrets([recordDir, outDir, tmp], [pin, secret, shareText]);
 *   expect(scan.filesScanned).toBeGreaterThan(0);
 *   expect(scan.hits).toEqual([]);
 *
 * Hits name the file, the secret's index and the encoding, never the secret.
 */
import { lstatSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface SecretHit {
  file: string;
  /** Index into the `secrets` argument. */
  secret: number;
  encoding: string;
}

export interface SecretScan {
  filesScanned: number;
  bytesScanned: number;
  hits: SecretHit[];
}

/** Shorter secrets would match by chance (a 4-digit PIN appears in many hashes). */
export const MIN_SECRET_BYTES = 6;

interface Needle {
  encoding: string;
  bytes?: Buffer;
  regex?: RegExp;
}

/** The base64 characters determined by `secret` alone when it starts `shift` bytes into a base64 run. */
function base64Core(secret: Buffer, shift: number, url: boolean): string {
  const enc = Buffer.concat([Buffer.alloc(shift), secret]).toString(url ? 'base64url' : 'base64');
  const first = Math.ceil((8 * shift) / 6);
  const last = Math.floor((8 * (shift + secret.length)) / 6);
  return enc.slice(first, last);
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function secretNeedles(secret: Buffer | string): Needle[] {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (bytes.length < MIN_SECRET_BYTES) throw new Error(`a secret to scan for must be at least ${MIN_SECRET_BYTES} bytes`);
  const hex = bytes.toString('hex');
  const needles: Needle[] = [
    { encoding: 'raw', bytes },
    { encoding: 'hex', bytes: Buffer.from(hex) },
    { encoding: 'HEX', bytes: Buffer.from(hex.toUpperCase()) },
    { encoding: 'hex:colon', bytes: Buffer.from(hex.match(/../g)!.join(':')) },
    { encoding: 'HEX:colon', bytes: Buffer.from(hex.toUpperCase().match(/../g)!.join(':')) },
    { encoding: 'utf16le', bytes: Buffer.from(bytes.toString('latin1'), 'utf16le') },
    { encoding: 'json-bytes', bytes: Buffer.from(JSON.stringify([...bytes]).slice(1, -1)) },
  ];
  for (const url of [false, true]) {
    for (const shift of [0, 1, 2]) {
      needles.push({ encoding: `${url ? 'base64url' : 'base64'}@${shift}`, bytes: Buffer.from(base64Core(bytes, shift, url)) });
    }
  }
  if (typeof secret === 'string') {
    const words = secret.trim().split(/\s+/).filter(Boolean);
    if (words.length > 1) {
      // The text or its words with any separator a file might use: spaces, newlines, JSON-escaped \n.
      needles.push({ encoding: 'text-words', regex: new RegExp(words.map(escapeRegex).join('(?:\\s|\\\\[nrt])+'), 'i') });
    } else {
      needles.push({ encoding: 'text-nocase', regex: new RegExp(escapeRegex(secret), 'i') });
    }
  }
  return needles;
}

function* filesUnder(dir: string): Generator<string> {
  const st = lstatSync(dir); // throws for a folder that does not exist: a scan of nothing must not pass
  if (st.isFile()) {
    yield dir;
    return;
  }
  if (!st.isDirectory()) return;
  for (const name of readdirSync(dir)) yield* filesUnder(join(dir, name));
}

export function scanForSecrets(dirs: string[], secrets: (Buffer | string)[]): SecretScan {
  const needles = secrets.map(secretNeedles);
  const scan: SecretScan = { filesScanned: 0, bytesScanned: 0, hits: [] };
  for (const dir of dirs) {
    for (const file of filesUnder(dir)) {
      const data = readFileSync(file);
      // Base64 and armor wrap lines: search a copy without line breaks too.
      const unwrapped = Buffer.from(data.toString('latin1').replace(/[\r\n]/g, ''), 'latin1');
      const text = data.toString('latin1');
      scan.filesScanned++;
      scan.bytesScanned += data.length;
      needles.forEach((list, secret) => {
        for (const n of list) {
          const found = n.bytes ? data.includes(n.bytes) || unwrapped.includes(n.bytes) : n.regex!.test(text) || n.regex!.test(data.toString('utf8'));
          if (found) scan.hits.push({ file, secret, encoding: n.encoding });
        }
      });
    }
  }
  return scan;
}
