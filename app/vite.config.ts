// Builds the renderer into dist-app/, served by main over app://app/. No inline script or style is emitted
// (the CSP forbids them): the module-preload polyfill, which Vite would inline, is off — Chromium has
// native modulepreload.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Paths from import.meta.url without node:url: this file sits in app/, whose code never imports Node.
const here = decodeURIComponent(new URL('.', import.meta.url).pathname);

export default defineConfig({
  root: here,
  base: '/',
  plugins: [react()],
  build: {
    outDir: decodeURIComponent(new URL('../dist-app', import.meta.url).pathname),
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'chrome130',
  },
});
