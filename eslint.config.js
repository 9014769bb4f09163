// Lint enforces the runtime boundaries of DESIGN §6: the core never imports Electron, React or the DOM;
// the renderer never imports Node (it talks to main only through the preload's typed API).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const NODE_BUILTINS = [
  'assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises', 'http',
  'https', 'net', 'os', 'path', 'process', 'readline', 'stream', 'tls', 'url', 'util', 'v8', 'vm', 'worker_threads', 'zlib',
];

export default tseslint.config(
  { ignores: ['dist/**', 'dist-app/**', 'release/**', 'node_modules/**', 'test-results/**', 'playwright-report/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['ceremony/**/*.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ['electron', 'react', 'react-dom'].map((name) => ({ name, message: 'ceremony/ is plain Node: no Electron, React or DOM.' })),
          patterns: [{ group: ['react-dom/*', '**/app/**', '**/main/**'], message: 'ceremony/ must not depend on the app or the Electron shell.' }],
        },
      ],
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'localStorage'],
    },
  },
  {
    files: ['app/**/*.ts', 'app/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...NODE_BUILTINS.map((name) => ({ name, message: 'app/ runs in the sandboxed renderer: no Node modules.' })),
            { name: 'electron', message: 'app/ reaches main only through window.ceremony (the preload API).' }],
          patterns: [
            { group: ['node:*'], message: 'app/ runs in the sandboxed renderer: no Node modules.' },
            // read-aloud.ts is the one rule for showing fingerprints, IDs and dates; it imports nothing (below).
            { group: ['**/ceremony/**', '!**/ceremony/read-aloud.js'], allowTypeImports: true, message: 'app/ may import only types from the core (and the read-aloud formatting rules).' },
          ],
        },
      ],
    },
  },
  {
    // main/ is a thin shell: PKCS#11 sessions and keys are the core's business (ceremony/ceremonies), so the
    // app and the CLI reach a token through the same code. URIs are only text and may be parsed here.
    files: ['main/**/*.ts', 'main/**/*.cts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/ceremony/hsm/**', '!**/ceremony/hsm/uri.js'], message: 'main/ reaches the HSM only through the core (ceremony/ceremonies).' }] },
      ],
    },
  },
  {
    // The renderer imports this file (app/src/format.ts): it must stay free of any import, Node's or ours.
    files: ['ceremony/read-aloud.ts'],
    rules: { 'no-restricted-syntax': ['error', { selector: 'ImportDeclaration', message: 'read-aloud.ts is imported by the sandboxed renderer: it imports nothing.' }] },
  },
  {
    files: ['main/**/*.ts', 'main/**/*.cts', 'test/**/*.ts', 'bench/**/*.mjs', 'scripts/**/*.mjs', '*.config.{js,ts,mjs}'],
    languageOptions: { globals: { ...globals.node } },
  },
);
