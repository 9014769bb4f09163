import { defineConfig } from 'vitest/config';

/**
 * The vitest configuration Stryker runs (stryker.config.mjs): only the test files scripts/mutation.mjs chose
 * for the file being mutated (MUTATION_TESTS, a JSON list). No global setup: the compiled CLI in dist/ is the
 * unmutated build (tests that spawn it cannot see a mutant, see docs/MUTATION.md). Stryker's runner forces
 * `pool: 'threads'` on the root configuration, so the tests run inside a project that asks for forks again:
 * pkcs11js and SoftHSM keep per-process state that worker threads would share.
 */
const tests = JSON.parse(process.env.MUTATION_TESTS ?? '[]') as string[];

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'mutation', include: tests, pool: 'forks', testTimeout: 120_000, hookTimeout: 120_000 },
      },
    ],
  },
});
