import { defineConfig } from 'vitest/config';

// One root config, one project per package plus the cross-package end-to-end tests.
// Tests start real servers and real git repositories, so timeouts are generous and
// files run in parallel only up to the two cores CI has.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    // Finds (or installs, where allowed) every server the suite runs: tests/setup/requirements.json.
    globalSetup: ['tests/setup/global-setup.ts'],
    projects: [
      { extends: true, test: { name: 'protodoc', include: ['packages/protodoc/test/**/*.test.ts'] } },
      { extends: true, test: { name: 'premerge-bot', include: ['packages/premerge-bot/test/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['tests/**/*.test.ts'] } },
    ],
  },
});
