/**
 * `serve`'s settings from its environment (and `--port`), each checked with a one-line error that names it:
 *
 * | variable | meaning |
 * | --- | --- |
 * | `APP_ID` | The App's id (or its client id), from its settings page. Required. |
 * | `PRIVATE_KEY` | The App's private key, PEM; `\n` escapes are turned into newlines (one-line `.env` files). |
 * | `PRIVATE_KEY_PATH` | A file holding the key, instead of `PRIVATE_KEY` (one of the two, not both). |
 * | `WEBHOOK_SECRET` | The webhook secret set in the App's settings. Required: no secret, no start. |
 * | `GITHUB_API_URL` | The REST API (default `https://api.github.com`; GitHub Enterprise Server: `https://HOST/api/v3`). |
 * | `PORT` | The port webhooks arrive on when `--port` is not given (default 3000). |
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { GITHUB_API_URL } from './app-client.js';

export interface ServeSettings {
  appId: string;
  privateKey: string;
  webhookSecret: string;
  apiUrl: string;
  port: number;
}

export function serveSettings(
  env: NodeJS.ProcessEnv,
  cwd: string,
  portFlag: string | undefined,
): ServeSettings {
  const appId = env['APP_ID']?.trim();
  if (!appId) throw new UsageError('APP_ID is not set: give the App id from the App settings page');
  const secret = env['WEBHOOK_SECRET'];
  if (!secret) {
    throw new UsageError(
      "WEBHOOK_SECRET is not set: serve does not start without it (webhooks could not be verified); use the secret in the App's settings",
    );
  }
  const inline = env['PRIVATE_KEY'];
  const path = env['PRIVATE_KEY_PATH'];
  if (inline && path) throw new UsageError('both PRIVATE_KEY and PRIVATE_KEY_PATH are set: keep one');
  let privateKey: string;
  let where: string;
  if (inline) {
    privateKey = inline.includes('\\n') && !inline.includes('\n') ? inline.replaceAll('\\n', '\n') : inline;
    where = 'PRIVATE_KEY';
  } else if (path) {
    try {
      privateKey = readFileSync(resolve(cwd, path), 'utf8');
    } catch (e) {
      throw new UsageError(
        `PRIVATE_KEY_PATH ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    where = `PRIVATE_KEY_PATH ${path}`;
  } else {
    throw new UsageError("neither PRIVATE_KEY nor PRIVATE_KEY_PATH is set: give the App's private key (PEM)");
  }
  if (!/-----BEGIN (RSA )?PRIVATE KEY-----/.test(privateKey)) {
    throw new UsageError(`${where}: not a PEM private key (expected -----BEGIN RSA PRIVATE KEY-----)`);
  }
  const apiUrl = env['GITHUB_API_URL'] || GITHUB_API_URL;
  try {
    const u = new URL(apiUrl);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
  } catch {
    throw new UsageError(`GITHUB_API_URL '${apiUrl}' is not an http(s) URL`);
  }
  const portText = portFlag ?? env['PORT'] ?? '3000';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw new UsageError(
      `${portFlag === undefined && env['PORT'] ? 'PORT' : '--port'} '${portText}' is not a port number (0-65535)`,
    );
  }
  return { appId, privateKey, webhookSecret: secret, apiUrl, port };
}
