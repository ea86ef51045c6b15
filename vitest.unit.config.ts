import { defineConfig } from 'vitest/config';

// `npm run test:unit`: the tests that need no root, no sshd, no network and no build of dist/
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
