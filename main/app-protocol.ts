/**
 * The renderer is served over `app://app/…` (protocol.handle), not file://: a file:// page could read any
 * local file and shares its origin with every other file. The handler maps a URL to a file under the built
 * renderer folder (dist-app/) and refuses everything else, path traversal included.
 */
import { readFile } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { SECURITY_HEADERS } from './csp.js';

export const APP_SCHEME = 'app';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY = `${APP_ORIGIN}/index.html`;

/**
 * Privileges for protocol.registerSchemesAsPrivileged: standard (so relative URLs and an origin work),
 * secure (a secure context), fetch support (Chromium loads module scripts through it; the CSP still forbids
 * fetch() from scripts with connect-src 'none'); no CORS, no service workers, no streaming.
 */
export const APP_SCHEME_PRIVILEGES = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: false, allowServiceWorkers: false, stream: false, bypassCSP: false },
} as const;

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/**
 * The file under `root` that `url` names, or null when the URL is not ours or escapes root. Decoding
 * happens once, before the containment check, so `%2e%2e%2f` is caught like `../`.
 */
export function resolveAppPath(root: string, url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.host !== APP_HOST) return null;
  let path: string;
  try {
    path = decodeURIComponent(parsed.pathname);
  } catch {
    return null;
  }
  if (path.includes('\0') || path.includes('\\')) return null;
  if (path === '/' || path === '') path = '/index.html';
  const base = resolve(root);
  const file = resolve(base, '.' + path);
  const rel = relative(base, file);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) return null;
  return file;
}

export type ReadAppFile = (path: string) => Promise<Uint8Array>;

/** The handler given to protocol.handle(APP_SCHEME, …). Only GET; 404 for anything it will not serve. */
export function makeAppProtocolHandler(root: string, read: ReadAppFile = (p) => readFile(p)): (request: Request) => Promise<Response> {
  return async (request) => {
    const headers = { ...SECURITY_HEADERS };
    if (request.method !== 'GET') return new Response(null, { status: 405, headers });
    const file = resolveAppPath(root, request.url);
    const type = file ? MIME[extname(file)] : undefined;
    if (!file || !type) return new Response(null, { status: 404, headers });
    try {
      const body = await read(file);
      return new Response(body as unknown as ConstructorParameters<typeof Response>[0], { status: 200, headers: { ...headers, 'Content-Type': type } });
    } catch {
      return new Response(null, { status: 404, headers });
    }
  };
}
