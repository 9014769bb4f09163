// Mutation testing of the security core (issue 16). Run through scripts/mutation.mjs (`npm run test:mutation`),
// which mutates one file at a time with the tests that import it; see docs/MUTATION.md.
const report = process.env.MUTATION_REPORT ?? 'reports/mutation/mutation.json';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  coverageAnalysis: 'perTest',
  // The machine is shared: two sandboxes at most (MUTATION_CONCURRENCY=1 for one).
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 2),
  reporters: ['progress', 'clear-text', 'json'],
  jsonReporter: { fileName: report },
  clearTextReporter: { allowColor: false, logTests: false, reportTests: false, reportScoreTable: true, reportMutants: false },
  ignorePatterns: ['/bench', '/test/e2e', '/test-results', '/playwright-report', '/reports', '/release', '/release-bundle', '/dist-app', '/docs'],
  tempDirName: '.stryker-tmp',
  timeoutMS: 30_000,
  thresholds: { high: 90, low: 80, break: null },
  disableTypeChecks: true,
};
