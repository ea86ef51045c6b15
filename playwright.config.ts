import { defineConfig } from '@playwright/test';

/**
 * Playwright runs the dashboard tests in Debian's Chromium (/usr/bin/chromium,
 * installed by scripts/install.sh): Playwright never downloads a browser here.
 * The global setup builds a site from a test farm and serves it on loopback.
 */
export default defineConfig({
  testDir: 'test/e2e',
  testMatch: '*.spec.ts',
  globalSetup: './test/e2e/global-setup.ts',
  workers: 2,
  timeout: 60_000,
  forbidOnly: true,
  reporter: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ? [['list'], ['json']] : 'list',
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
});
