/**
 * GitHub refuses a push that creates, changes or deletes a file under `.github/workflows/` from a token without the
 * `workflows` permission. The bot finds that out before it tests, rather than at landing after a whole test run:
 * a candidate whose landing would change those files, with an installation token lacking `workflows: write`, gets
 * a verdict that says so (and the installation's owner can grant the permission in the App's settings).
 */
import { git } from '../git.js';

export const WORKFLOWS_DIR = '.github/workflows/';

/** The files under `.github/workflows/` that moving the target from `base` to `tested` would add, change or delete. */
export async function changedWorkflows(gitDir: string, base: string, tested: string): Promise<string[]> {
  const r = await git([
    '--git-dir',
    gitDir,
    'diff',
    '--name-only',
    '--no-renames',
    '-z',
    base,
    tested,
    '--',
    WORKFLOWS_DIR,
  ]);
  return r.stdout.split('\0').filter(Boolean);
}

/**
 * Why landing `files` (workflow files it changes) is impossible with a token of `permissions`, or null when it is
 * not: none changed, or the token has `workflows: write`.
 */
export function workflowsRefusal(
  files: readonly string[],
  permissions: Record<string, string>,
): string | null {
  if (files.length === 0 || permissions['workflows'] === 'write') return null;
  const listed = files.slice(0, 3).join(', ') + (files.length > 3 ? ` and ${files.length - 3} more` : '');
  return `it changes ${listed} under .github/workflows/, and the App's installation lacks the workflows permission (GitHub refuses such a push): grant the App "Workflows: write", or land it another way`;
}
