/**
 * What `--server` fills in: `{port}` (the free port it picked) and `{dir}` (a fresh temporary directory
 * made for each server start), in the server's command and in every target. One place, so the command,
 * `--connect`, `>>>! connect` and `>>>@NAME TARGET` cannot disagree about what they stand for.
 */
import { PORT_PLACEHOLDER, substitutePort } from './target.js';

/** The placeholder that `--server` replaces with the directory it made for this server start. */
export const DIR_PLACEHOLDER = '{dir}';

/** The values of one server start; either may be absent (the command did not ask for it). */
export interface ServerPlaceholders {
  port?: number | undefined;
  dir?: string | undefined;
}

/**
 * `text` with `{port}` and `{dir}` replaced where a value is known; a placeholder without one stays.
 * @example fillServerPlaceholders('unix:{dir}/redis.sock', { dir: '/tmp/protodoc-server-x1' })
 *   // 'unix:/tmp/protodoc-server-x1/redis.sock'
 */
export function fillServerPlaceholders(text: string, values: ServerPlaceholders): string {
  let out = values.port === undefined ? text : substitutePort(text, values.port);
  if (values.dir !== undefined) out = out.replaceAll(DIR_PLACEHOLDER, values.dir);
  return out;
}

/** Whether `text` uses `{port}` or `{dir}`. */
export function usesPlaceholder(text: string | undefined, placeholder: string = PORT_PLACEHOLDER): boolean {
  return text?.includes(placeholder) ?? false;
}
