/**
 * The world the CLI starts with, for a developer trying premerge-bot's GitHub App by hand: a developer `dev`
 * with a personal token, the App `premerge-bot` (its private key written to a file), a repository `dev/project`
 * whose first commit holds `.github/premerge.yml` and the test it names, and the App installed on it.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** @typedef {import('./standin.mjs').Standin} Standin */

/** The first commit of the demo repository. */
export const DEMO_FILES = {
  '.github/premerge.yml':
    '# premerge-bot: land what passes ./check.sh on master\ntarget: master\ncandidates: [pu]\ntest: ./check.sh\n',
  'check.sh': {
    content: '#!/bin/sh\n# The test premerge-bot runs on each candidate: exit 0 to land.\nexit 0\n',
    executable: true,
  },
  'README.md': '# project\n\nA repository on the GitHub stand-in, for trying premerge-bot.\n',
};

/**
 * Builds the demo world in `standin`.
 * @param {Standin} standin
 * @param {{ webhookUrl: string, keyDir: string }} options  `keyDir`: where the App's private key is written
 */
export async function createDemo(standin, options) {
  const developer = standin.createUser({ login: 'dev', name: 'Dev', email: 'dev@example.com' });
  const app = standin.createApp({
    slug: 'premerge-bot',
    name: 'premerge-bot',
    owner: developer,
    webhookUrl: options.webhookUrl,
    // As premerge-bot's README sets the App up: pushes, and "Re-run" on its check runs and on its check suites.
    events: ['push', 'check_run', 'check_suite'],
  });
  const repo = await standin.createRepository({ owner: developer, name: 'project', files: DEMO_FILES });
  const installation = standin.createInstallation({ app, account: developer, repositories: [repo] });
  const keyPath = join(options.keyDir, `${app.slug}.private-key.pem`);
  writeFileSync(keyPath, app.privateKey, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
  return { developer, app, repo, installation, keyPath };
}
