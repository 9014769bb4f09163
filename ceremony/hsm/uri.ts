/**
 * PKCS#11 URIs, RFC 7512. `pkcs11:` path-attributes (`;`-separated) `?` query-attributes (`&`-separated),
 * values percent-encoded (§2.3). `pin-value` is refused outright: a PIN in a URI ends up in shell
 * history, process listings and logs (DESIGN §4).
 */
import { CeremonyError } from '../errors.js';

export type ObjectType = 'public' | 'private' | 'cert' | 'secret-key' | 'data';

export interface Pkcs11Uri {
  token?: string;
  manufacturer?: string;
  serial?: string;
  model?: string;
  libraryManufacturer?: string;
  libraryDescription?: string;
  libraryVersion?: string;
  object?: string;
  /** CKA_ID, raw bytes. */
  id?: Buffer;
  type?: ObjectType;
  slotDescription?: string;
  slotManufacturer?: string;
  slotId?: number;
  moduleName?: string;
  modulePath?: string;
  /** RFC 7512 §2.3: "file:" followed by a path (we accept only file: sources). */
  pinSource?: string;
  /** Attributes we do not interpret (vendor `x-` ones, others), kept so printing round-trips. */
  extraPath: [string, string][];
  extraQuery: [string, string][];
}

const PATH_ATTRS: Record<string, keyof Pkcs11Uri> = {
  token: 'token',
  manufacturer: 'manufacturer',
  serial: 'serial',
  model: 'model',
  'library-manufacturer': 'libraryManufacturer',
  'library-description': 'libraryDescription',
  'library-version': 'libraryVersion',
  object: 'object',
  id: 'id',
  type: 'type',
  'slot-description': 'slotDescription',
  'slot-manufacturer': 'slotManufacturer',
  'slot-id': 'slotId',
};
const QUERY_ATTRS: Record<string, keyof Pkcs11Uri> = {
  'module-name': 'moduleName',
  'module-path': 'modulePath',
  'pin-source': 'pinSource',
};
const TYPES: readonly ObjectType[] = ['public', 'private', 'cert', 'secret-key', 'data'];
const MAX_URI_LENGTH = 4096;

function bad(message: string): CeremonyError {
  return new CeremonyError('BAD_URI', message);
}

function percentDecode(raw: string, what: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '%') {
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw bad(`the PKCS#11 URI has a broken percent-escape in ${what}`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(out);
}

function decodeText(raw: string, what: string): string {
  const bytes = percentDecode(raw, what);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  return text;
}

export function parsePkcs11Uri(input: string): Pkcs11Uri {
  if (input.length > MAX_URI_LENGTH) throw bad('the PKCS#11 URI is too long');
  if (!/^pkcs11:/i.test(input)) throw bad(`"${input.slice(0, 40)}" is not a PKCS#11 URI (it must start with "pkcs11:")`);
  const body = input.slice('pkcs11:'.length);
  const q = body.indexOf('?');
  const pathPart = q === -1 ? body : body.slice(0, q);
  const queryPart = q === -1 ? '' : body.slice(q + 1);
  const uri: Pkcs11Uri = { extraPath: [], extraQuery: [] };
  const seen = new Set<string>();

  const assign = (name: string, raw: string, table: Record<string, keyof Pkcs11Uri>, extra: [string, string][]) => {
    if (name === 'pin-value') {
      throw new CeremonyError(
        'PIN_VALUE_REFUSED',
        'the PKCS#11 URI carries a pin-value, which would leak the PIN into shell history and logs; use pin-source=file:PATH, --pin-file or the prompt instead',
      );
    }
    if (!/^[a-z0-9-]+$/i.test(name)) throw bad(`the PKCS#11 URI has an invalid attribute name "${name}"`);
    if (seen.has(name)) throw bad(`the PKCS#11 URI repeats the attribute "${name}"`);
    seen.add(name);
    const key = table[name];
    if (!key) {
      extra.push([name, decodeText(raw, name)]);
      return;
    }
    switch (key) {
      case 'id':
        uri.id = percentDecode(raw, name);
        return;
      case 'type': {
        const t = decodeText(raw, name);
        if (!TYPES.includes(t as ObjectType)) throw bad(`the PKCS#11 URI has an unknown object type "${t}"`);
        uri.type = t as ObjectType;
        return;
      }
      case 'slotId': {
        const t = decodeText(raw, name);
        if (!/^\d+$/.test(t)) throw bad(`the PKCS#11 URI's slot-id "${t}" is not a number`);
        uri.slotId = Number(t);
        return;
      }
      case 'pinSource': {
        const t = decodeText(raw, name);
        if (!t.startsWith('file:')) throw bad('pin-source must be a file: reference (pin-source=file:/path/to/pin)');
        uri.pinSource = t;
        return;
      }
      default:
        (uri as unknown as Record<string, string>)[key] = decodeText(raw, name);
    }
  };

  if (pathPart !== '') {
    for (const attr of pathPart.split(';')) {
      const eq = attr.indexOf('=');
      if (eq <= 0) throw bad(`the PKCS#11 URI has a malformed path attribute "${attr}"`);
      assign(attr.slice(0, eq).toLowerCase(), attr.slice(eq + 1), PATH_ATTRS, uri.extraPath);
    }
  }
  if (queryPart !== '') {
    for (const attr of queryPart.split('&')) {
      const eq = attr.indexOf('=');
      if (eq <= 0) throw bad(`the PKCS#11 URI has a malformed query attribute "${attr}"`);
      assign(attr.slice(0, eq).toLowerCase(), attr.slice(eq + 1), QUERY_ATTRS, uri.extraQuery);
    }
  }
  return uri;
}

// RFC 7512 §2.3: pk11-res-avail / pk11-qchar: unreserved and a few sub-delims stay literal; everything
// else is percent-encoded. We stay conservative so that printed URIs survive shells and config files.
const PATH_SAFE = /[A-Za-z0-9\-._~:[\]@!$'()*+,&]/;
const QUERY_SAFE = /[A-Za-z0-9\-._~:[\]@!$'()*+,=/?|]/;

function percentEncode(value: string | Buffer, safe: RegExp | null): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  let out = '';
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    if (safe && b < 0x80 && safe.test(ch)) out += ch;
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export function formatPkcs11Uri(uri: Partial<Pkcs11Uri>): string {
  const path: string[] = [];
  for (const [name, key] of Object.entries(PATH_ATTRS)) {
    const v = uri[key];
    if (v === undefined) continue;
    if (key === 'id') path.push(`${name}=${percentEncode(v as Buffer, null)}`);
    else path.push(`${name}=${percentEncode(String(v), PATH_SAFE)}`);
  }
  for (const [name, v] of uri.extraPath ?? []) path.push(`${name}=${percentEncode(v, PATH_SAFE)}`);
  const query: string[] = [];
  for (const [name, key] of Object.entries(QUERY_ATTRS)) {
    const v = uri[key];
    if (v !== undefined) query.push(`${name}=${percentEncode(String(v), QUERY_SAFE)}`);
  }
  for (const [name, v] of uri.extraQuery ?? []) query.push(`${name}=${percentEncode(v, QUERY_SAFE)}`);
  return `pkcs11:${path.join(';')}${query.length ? '?' + query.join('&') : ''}`;
}

/** Does a token (described by its info) match the token-selecting attributes of a URI? */
export function tokenMatches(
  uri: Pkcs11Uri,
  token: { label: string; manufacturer: string; model: string; serial: string },
): boolean {
  return (
    (uri.token === undefined || uri.token === token.label) &&
    (uri.manufacturer === undefined || uri.manufacturer === token.manufacturer) &&
    (uri.model === undefined || uri.model === token.model) &&
    (uri.serial === undefined || uri.serial === token.serial)
  );
}
