import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from './tests/chromium.ts';

// End-to-end tests drive Debian's Chromium (never a downloaded browser: the machines cannot fetch one).
export default defineConfig({
  testDir: './tests',
  testMatch: '**/*.spec.ts',
  // The dashboard is built once per run (web/dist), for every spec that serves it.
  globalSetup: './global-setup.ts',
  timeout: 120_000,
  workers: 1,
  reporter: process.env.CI ? 'list' : 'line',
  use: { launchOptions: chromiumLaunchOptions() },
});
