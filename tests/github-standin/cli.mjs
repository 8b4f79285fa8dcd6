#!/usr/bin/env node
/**
 * `node tests/github-standin/cli.mjs [--port N] [--webhook-url URL] [--state DIR] [--quiet]`: starts the stand-in
 * GitHub with a demo world (see demo.mjs), prints the `premerge-bot serve` command and environment to paste and
 * the developer's clone URL, then logs each request and webhook delivery until Ctrl-C.
 *
 * Exit codes: 0 stopped by a signal; 2 usage (bad flag or value, a non-empty --state); 4 could not start (port in
 * use); 70 internal error (stack printed).
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { createDemo } from './demo.mjs';
import { startStandin } from './standin.mjs';

export const EXIT = /** @type {const} */ ({ ok: 0, usage: 2, unavailable: 4, internal: 70 });

/** Where premerge-bot listens by default in the printed command, and so where webhooks go. */
export const DEFAULT_WEBHOOK_URL = 'http://127.0.0.1:3000/api/github/webhooks';

/**
 * @typedef {object} CliOptions
 * @property {number} port        0: any free port
 * @property {string} webhookUrl
 * @property {string | undefined} state
 * @property {boolean} quiet
 */

/** @param {string} text */
function port(text) {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new InvalidArgumentError('expected a port number (0-65535)');
  return n;
}

/** @param {string} text */
function httpUrl(text) {
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.toString();
  } catch {
    // Falls through to the error below.
  }
  throw new InvalidArgumentError('expected an http:// or https:// URL');
}

/**
 * The command-line program; `run` receives the parsed options.
 * @param {(options: CliOptions) => Promise<void>} run
 */
export function createProgram(run) {
  return new Command('github-standin')
    .description('A local stand-in GitHub for trying premerge-bot as a GitHub App (state in memory only).')
    .option('-p, --port <n>', 'port to listen on (0: any free one)', port, 0)
    .option('--webhook-url <url>', "where the App's webhooks are sent", httpUrl, DEFAULT_WEBHOOK_URL)
    .option(
      '--state <dir>',
      'keep repositories and the App key in this empty directory (default: a temporary one)',
    )
    .option('-q, --quiet', 'print the setup only, not each request and delivery', false)
    .showHelpAfterError()
    .action((options) => run(/** @type {CliOptions} */ (options)));
}

/** Quotes a word for a POSIX shell when it needs it. @param {string} word */
function shellWord(word) {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * Starts the stand-in and prints what to paste; resolves when `signal` aborts and the stand-in has stopped.
 * @param {CliOptions} options
 * @param {{ stdout: (text: string) => void, stderr: (text: string) => void, signal: AbortSignal }} io
 */
export async function serveDemo(options, io) {
  let dir;
  if (options.state !== undefined) {
    dir = resolve(options.state);
    if (existsSync(dir) && readdirSync(dir).length > 0) {
      throw new UsageError(
        `--state ${options.state}: the directory is not empty (the stand-in starts afresh)`,
      );
    }
    mkdirSync(dir, { recursive: true });
  }
  const standin = await startStandin({ port: options.port, ...(dir ? { dir } : {}) }).catch((error) => {
    if (error?.code === 'EADDRINUSE')
      throw new UnavailableError(`cannot listen on port ${options.port}: it is in use`);
    throw error;
  });
  try {
    const demo = await createDemo(standin, { webhookUrl: options.webhookUrl, keyDir: standin.dir });
    // The installation's own webhook went out before the bot could be listening; settle it before the log starts.
    await standin.deliveries.idle();
    const webhook = new URL(options.webhookUrl);
    const botPort = webhook.port || (webhook.protocol === 'https:' ? '443' : '80');
    const env = [
      `APP_ID=${demo.app.id}`,
      `PRIVATE_KEY_PATH=${shellWord(demo.keyPath)}`,
      `WEBHOOK_SECRET=${shellWord(demo.app.webhookSecret)}`,
      `GITHUB_API_URL=${standin.apiUrl}`,
    ];
    io.stdout(
      [
        `GitHub stand-in at ${standin.url} (REST API ${standin.apiUrl})`,
        `App ${demo.app.slug} (id ${demo.app.id}) is installed on ${demo.repo.fullName} (installation ${demo.installation.id});`,
        `its private key is ${demo.keyPath}; its webhooks go to ${options.webhookUrl}.`,
        '',
        'Start the bot:',
        '',
        `  ${env.join(' ')} npx premerge-bot serve --port ${botPort}`,
        '',
        `Clone as the developer ${demo.developer.login}:`,
        '',
        `  git clone ${standin.cloneUrlFor(demo.repo, demo.developer)}`,
        '',
        'and in the clone, the aliases, told that this GitHub is at its own address:',
        '',
        `  premerge-bot alias install --github ${standin.url}`,
        '',
        options.quiet
          ? 'Ctrl-C stops the stand-in.'
          : 'Requests and deliveries follow; Ctrl-C stops the stand-in.',
        '',
      ].join('\n'),
    );
    if (!options.quiet) {
      standin.on('request', (/** @type {import('./request-log.mjs').LoggedRequest} */ r) => {
        const who =
          r.auth.kind === 'installation'
            ? ` (installation ${r.auth.installationId})`
            : r.auth.login
              ? ` (${r.auth.login})`
              : '';
        io.stdout(
          `${r.method} ${r.path} ${r.status ?? '-'}${who}${r.error ? `: ${r.error.split('\n')[0]}` : ''}\n`,
        );
      });
      standin.on('delivery', (/** @type {import('./deliveries.mjs').Delivery} */ d) => {
        const what = `${d.event}${d.action ? `.${d.action}` : ''} ${d.guid}`;
        const how = d.state === 'delivered' ? `${d.statusCode}` : (d.error ?? d.state);
        io.stdout(`webhook ${what} -> ${d.url ?? '(no URL)'}: ${how}\n`);
      });
    }
    await new Promise((resolve) => {
      if (io.signal.aborted) resolve(undefined);
      io.signal.addEventListener('abort', () => resolve(undefined), { once: true });
    });
  } finally {
    await standin.close();
  }
}

/** A usage mistake: exit 2. */
export class UsageError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'UsageError';
    this.code = 'STANDIN_USAGE';
  }
}

/** The stand-in could not start: exit 4. */
export class UnavailableError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'UnavailableError';
    this.code = 'STANDIN_UNAVAILABLE';
  }
}

/**
 * Runs the CLI; resolves with the exit code.
 * @param {string[]} argv  the arguments after the script
 * @param {{ stdout: (text: string) => void, stderr: (text: string) => void, signal: AbortSignal }} io
 * @returns {Promise<number>}
 */
export async function main(argv, io) {
  const program = createProgram((options) => serveDemo(options, io))
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof UsageError) {
      io.stderr(`error: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof UnavailableError) {
      io.stderr(`error: ${error.message}\n`);
      return EXIT.unavailable;
    }
    io.stderr(
      `internal error: ${error instanceof Error ? error.stack : error}\nplease report it with the command you ran\n`,
    );
    return EXIT.internal;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const stop = new AbortController();
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.once(signal, () => stop.abort());
  main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    signal: stop.signal,
  }).then((code) => {
    process.exitCode = code;
  });
}
