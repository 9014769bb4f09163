/**
 * The tests that can kill a mutant of one source file: every unit and integration test file that imports
 * it, directly or through other project files (relative imports, followed statically). Tests that only
 * spawn the compiled CLI (dist/) are left out: they never load the mutated source, so they cannot kill a
 * mutant and would only cost time. Used by scripts/mutation.mjs; `node scripts/mutation-tests.mjs FILE`
 * prints the list.
 */
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TEST_DIRS = ['test/unit', 'test/integration'];

function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** Relative imports of one file, resolved to .ts paths (the sources import './x.js'). */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const deps = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    const base = resolve(dirname(file), spec);
    for (const cand of [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), `${base}.ts`, join(base, 'index.ts')]) {
      if (existsSync(cand) && statSync(cand).isFile()) {
        deps.push(cand);
        break;
      }
    }
  }
  return deps;
}

/** Test files (paths relative to the repository) whose import graph reaches `source`. */
export function testsFor(source) {
  const target = resolve(ROOT, source);
  const memo = new Map();
  const reaches = (file, seen = new Set()) => {
    if (file === target) return true;
    if (memo.has(file)) return memo.get(file);
    if (seen.has(file)) return false;
    seen.add(file);
    const r = importsOf(file).some((d) => reaches(d, seen));
    memo.set(file, r);
    return r;
  };
  return TEST_DIRS.flatMap((d) => walk(join(ROOT, d)))
    .filter((t) => reaches(t))
    .map((t) => relative(ROOT, t))
    .sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const f of process.argv.slice(2)) console.log(`${f}:\n  ${testsFor(f).join('\n  ')}`);
}
