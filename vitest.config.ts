import { defineConfig } from 'vitest/config';

// Tests that load the native PKCS#11 addon run in forked processes: pkcs11js and
// SoftHSM keep per-process state that worker threads would share.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
