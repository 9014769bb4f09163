/** The app:// protocol handler: serves the built renderer with the CSP, and nothing outside it. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_SCHEME_PRIVILEGES, makeAppProtocolHandler, resolveAppPath } from '../../../main/app-protocol.js';
import { CONTENT_SECURITY_POLICY } from '../../../main/csp.js';

let base: string;
let root: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'app-protocol-'));
  root = join(base, 'dist-app');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(root, 'assets', 'index.js'), 'console.log(1)');
  writeFileSync(join(base, 'secret.txt'), 'outside the renderer root');
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

const get = (url: string, method = 'GET') => makeAppProtocolHandler(root)(new Request(url, { method }));

describe('app:// protocol', () => {
  it('serves index.html with the CSP and nosniff headers', async () => {
    const r = await get('app://app/index.html');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await r.text()).toContain('<title>t</title>');
  });

  it('serves / as index.html and assets with their type', async () => {
    expect((await get('app://app/')).status).toBe(200);
    const js = await get('app://app/assets/index.js');
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('has a CSP that allows nothing remote, no inline script and no eval', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("connect-src 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
  });

  it.each([
    'app://app/../secret.txt',
    'app://app/%2e%2e/secret.txt',
    'app://app/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
    'app://app/..%5csecret.txt',
    'app://app/%2e%2e%5csecret.txt',
    'app://app/index.html%00.js',
  ])('path traversal %s never leaves the renderer root', async (url) => {
    // Either refused outright, or normalised by the URL parser to a path inside root (which then 404s).
    const resolved = resolveAppPath(root, url);
    if (resolved !== null) expect(resolved.startsWith(root + '/')).toBe(true);
    const r = await get(url);
    expect(r.status).toBe(404);
    expect(await r.text()).not.toContain('outside the renderer root');
    expect(r.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
  });

  it('a URL for another host or scheme is refused', () => {
    expect(resolveAppPath(root, 'app://other/index.html')).toBeNull();
    expect(resolveAppPath(root, 'file:///etc/passwd')).toBeNull();
    expect(resolveAppPath(root, 'not a url')).toBeNull();
  });

  it('an absent file or an unknown type is 404, a POST is 405', async () => {
    expect((await get('app://app/nope.html')).status).toBe(404);
    writeFileSync(join(root, 'x.exe'), 'MZ');
    expect((await get('app://app/x.exe')).status).toBe(404);
    expect((await get('app://app/index.html', 'POST')).status).toBe(405);
  });

  it('registers the scheme as standard and secure, without CSP bypass or service workers', () => {
    expect(APP_SCHEME_PRIVILEGES.privileges).toMatchObject({ standard: true, secure: true, bypassCSP: false, allowServiceWorkers: false, corsEnabled: false });
  });
});

describe('the CSP meta tag of app/index.html', () => {
  it('repeats the header policy (less frame-ancestors, which a meta tag cannot carry)', () => {
    const html = readFileSync(fileURLToPath(new URL('../../../app/index.html', import.meta.url)), 'utf8');
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1];
    const header = CONTENT_SECURITY_POLICY.split('; ').filter((d) => !d.startsWith('frame-ancestors'));
    expect(meta?.split('; ')).toEqual(header);
  });
});
