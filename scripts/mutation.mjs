#!/usr/bin/env node
/**
 * Mutation testing of the security core, one source file at a time (issue 16; docs/MUTATION.md).
 *
 *   node scripts/mutation.mjs                       every file of the security core, one after another
 *   node scripts/mutation.mjs ceremony/digests/parse.ts …   only these files
 *   MUTATION_CONCURRENCY=1 node scripts/mutation.mjs …       one Stryker sandbox instead of two
 *   node scripts/mutation.mjs --incremental FILE …   re-test only mutants whose code or covering tests changed
 *                                                   since the last report of FILE (Stryker's incremental mode)
 *   node scripts/mutation.mjs --exclude 'ceremonies/|real-ceremonies|unit/main/' FILE …
 *                                                   leave out test files matching the pattern (the end-to-end
 *                                                   SoftHSM ceremonies cost seconds per mutant; the report says so)
 *
 * Each file is mutated by Stryker with only the tests that import it (scripts/mutation-tests.mjs), so a run
 * takes minutes. The JSON report of each file lands in reports/mutation/<file>.json, its survivors in
 * reports/mutation/<file>.survivors.txt, and one line per file in reports/mutation/summary.json (with the
 * commit measured). Exit 1 when Stryker itself fails on a file.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT, testsFor } from './mutation-tests.mjs';

/** The security core of issue 16. */
const CORE = ['ceremony/openpgp/verify', 'ceremony/digests', 'ceremony/quorum', 'ceremony/audit', 'ceremony/payload/verify.ts', 'ceremony/release', 'ceremony/hash-pass.ts', 'ceremony/hash-lane.ts'];

function sources(entry) {
  const p = join(ROOT, entry);
  if (statSync(p).isFile()) return [entry];
  return readdirSync(p)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => relative(ROOT, join(p, f)))
    .sort();
}

const args = process.argv.slice(2);
const excludeAt = args.indexOf('--exclude');
const exclude = excludeAt >= 0 ? new RegExp(args.splice(excludeAt, 2)[1]) : null;
const incrementalAt = args.indexOf('--incremental');
const incremental = incrementalAt >= 0 && args.splice(incrementalAt, 1).length === 1;
const files = args.length > 0 ? args : CORE.flatMap(sources);
const outDir = join(ROOT, 'reports', 'mutation');
mkdirSync(outDir, { recursive: true });
const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
const dirty = spawnSync('git', ['status', '--porcelain', '--', 'ceremony', 'test'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() !== '';
const summaryPath = join(outDir, 'summary.json');
const summary = existsSync(summaryPath) ? JSON.parse(readFileSync(summaryPath, 'utf8')) : {};

/** Stryker's counts for one file; "score" is killed (incl. timeouts) over every mutant that is not ignored. */
function tally(report, file) {
  const mutants = report.files[file]?.mutants ?? [];
  const count = (s) => mutants.filter((m) => m.status === s).length;
  const killed = count('Killed') + count('Timeout');
  const survived = count('Survived');
  const noCoverage = count('NoCoverage');
  const errors = count('RuntimeError') + count('CompileError');
  const valid = killed + survived + noCoverage;
  return { mutants: valid, killed, survived, noCoverage, errors, ignored: count('Ignored'), score: valid ? Math.round((1000 * killed) / valid) / 10 : 100 };
}

// Tests that spawn the CLI run the sandbox's copy of dist/: build it from the unmutated sources first.
if (spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) {
  console.error('the build failed: fix it before mutation testing');
  process.exit(1);
}

let failed = false;
for (const file of files) {
  const tests = testsFor(file).filter((t) => !exclude?.test(t));
  const slug = file.replace(/[/.]/g, '_');
  const reportFile = join(outDir, `${slug}.json`);
  console.log(`\n=== ${file}: ${tests.length} test file(s)\n  ${tests.join('\n  ')}`);
  if (tests.length === 0) {
    console.log('  no test imports it: every mutant would be uncovered; skipped');
    summary[file] = { commit, dirty, tests: [], mutants: null };
    continue;
  }
  const previous = join(outDir, `${slug}.incremental.json`);
  if (incremental && !existsSync(previous) && existsSync(reportFile)) copyFileSync(reportFile, previous);
  const extra = incremental ? ['--incremental', '--incrementalFile', relative(ROOT, previous)] : [];
  const r = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs', '--mutate', file, ...extra], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, MUTATION_TESTS: JSON.stringify(tests), MUTATION_REPORT: relative(ROOT, reportFile) },
  });
  if (r.status !== 0 || !existsSync(reportFile)) {
    console.error(`Stryker failed on ${file} (exit ${r.status})`);
    failed = true;
    continue;
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8'));
  // A test file that failed to load reports no tests, and Stryker carries on without it: say so.
  const ran = new Set(Object.keys(report.testFiles ?? {}));
  const silent = tests.filter((t) => !ran.has(t));
  if (silent.length) console.warn(`WARNING: no test of ${silent.join(', ')} ran (failed to load, or all skipped)`);
  const t = tally(report, file);
  const src = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const survivors = (report.files[file]?.mutants ?? [])
    .filter((m) => m.status === 'Survived' || m.status === 'NoCoverage')
    .map((m) => `${file}:${m.location.start.line}:${m.location.start.column} ${m.status} ${m.mutatorName}: ${JSON.stringify(m.replacement ?? '')}\n    ${src[m.location.start.line - 1]?.trim()}`);
  writeFileSync(join(outDir, `${slug}.survivors.txt`), survivors.join('\n') + '\n');
  summary[file] = { commit, dirty, tests, ...(exclude ? { excluded: String(exclude) } : {}), ...t };
  console.log(`${file}: ${t.killed}/${t.mutants} killed (${t.score}%), ${t.survived} survived, ${t.noCoverage} no coverage`);
  writeFileSync(summaryPath, JSON.stringify(summary, null, 2) + '\n');
}
writeFileSync(summaryPath, JSON.stringify(summary, null, 2) + '\n');
process.exit(failed ? 1 : 0);
