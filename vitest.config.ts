import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous: a deadline bounds a test that fails, never one that passes (the machine is shared).
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
