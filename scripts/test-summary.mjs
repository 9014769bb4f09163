// Prints one closing line for the whole test run, "N passed, N failed, N skipped", from the JSON
// reports vitest and Playwright leave in test-results/. Exits non-zero if anything failed or if no
// test ran at all.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0, failed = 0, skipped = 0;
const seen = [];
const vitest = 'test-results/vitest.json';
if (existsSync(vitest)) {
  const r = JSON.parse(readFileSync(vitest, 'utf8'));
  // A test file that fails to load (a throw in beforeAll, an import error) fails no test but fails the run.
  const unloaded = (r.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')).length;
  passed += r.numPassedTests; failed += r.numFailedTests + unloaded; skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  seen.push(`vitest ${r.numPassedTests}/${r.numTotalTests}`);
}
const pw = 'test-results/playwright.json';
if (existsSync(pw)) {
  const s = JSON.parse(readFileSync(pw, 'utf8')).stats;
  passed += s.expected + (s.flaky ?? 0); failed += s.unexpected; skipped += s.skipped;
  seen.push(`playwright ${s.expected}/${s.expected + s.unexpected + s.skipped + (s.flaky ?? 0)}`);
}
console.log(`(${seen.join(', ') || 'no reports'})`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
