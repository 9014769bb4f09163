import { statSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The vitest configuration Stryker runs (stryker.config.mjs): only the test files scripts/mutation.mjs chose
 * for the file being mutated (MUTATION_TESTS, a JSON list). No global setup: the compiled CLI in dist/ is the
 * unmutated build (tests that spawn it cannot see a mutant, see docs/MUTATION.md).
 *
 * Stryker's vitest runner starts vitest with `pool: 'threads'`, which overrides this file; the plugin sets
 * forks again once the configuration is resolved. pkcs11js and SoftHSM need a process per worker: a worker
 * thread's process.env is its own copy, so SOFTHSM2_CONF set by a test never reaches the native module.
 */
const tests = JSON.parse(process.env.MUTATION_TESTS ?? '[]') as string[];

/**
 * Smallest test file first. Stryker runs one file at a time and stops at the first failing test (bail), and
 * vitest's own order puts the slowest file first: a mutant killed by a small guard file would otherwise wait
 * for every slow test of a large file (the share parser's typo search, the record forgery sweep) to pass.
 */
class SmallestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const size = (f: TestSpecification) => statSync(f.moduleId).size;
    return [...files].sort((a, b) => size(a) - size(b));
  }
}

export default defineConfig({
  plugins: [
    {
      name: 'mutation-forks',
      configureVitest({ vitest, project }) {
        vitest.config.pool = 'forks';
        project.config.pool = 'forks';
      },
    },
  ],
  test: {
    include: tests,
    pool: 'forks',
    sequence: { sequencer: SmallestFirst },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
