/**
 * Entry of the utility process: a CommonJS shim that loads the ESM worker, so the worker starts whether or
 * not the Electron version at hand accepts an ES module as a utility process entry.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { pathToFileURL } = require('node:url') as typeof import('node:url');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { join } = require('node:path') as typeof import('node:path');
void import(pathToFileURL(join(__dirname, 'entry.js')).href);
