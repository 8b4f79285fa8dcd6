/**
 * How git gets an installation token: in the environment of that one git call only, as an `http.extraHeader`
 * (`Authorization: Basic base64(x-access-token:TOKEN)`) given through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/
 * `GIT_CONFIG_VALUE_n`, scoped to the repository's origin. Never in a URL, a config file, a credential store or
 * anything else on disk; the URL git is given (and that error messages show) holds no credentials.
 */
import { UntrustedUrlError } from '../errors.js';

/**
 * The origin git is served from for a REST API at `apiUrl`: `https://github.com` for `https://api.github.com`;
 * a GitHub Enterprise Server (`https://HOST/api/v3`), and the stand-in, serve both from one origin.
 */
export function gitOriginFor(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (url.hostname === 'api.github.com') return `${url.protocol}//github.com`;
  if (url.hostname.startsWith('api.') && !url.pathname.startsWith('/api/')) {
    // GitHub Enterprise Cloud with data residency: api.SUBDOMAIN.ghe.com serves SUBDOMAIN.ghe.com's git.
    return `${url.protocol}//${url.host.slice(4)}`;
  }
  return url.origin;
}

/**
 * `cloneUrl` (a payload's `repository.clone_url`) checked before a token goes with it: it must be an http(s) URL
 * without credentials on the origin git is served from for `apiUrl`. A payload is signed, but a token is worth
 * more than a signature: one sent to another host would be given away.
 */
export function checkedCloneUrl(cloneUrl: string, apiUrl: string): string {
  let url: URL;
  try {
    url = new URL(cloneUrl);
  } catch {
    throw new UntrustedUrlError(
      `the repository's clone_url is not a URL: ${JSON.stringify(cloneUrl)}`,
      cloneUrl,
    );
  }
  const expected = gitOriginFor(apiUrl);
  if (url.username || url.password) {
    throw new UntrustedUrlError(
      `the repository's clone_url ${url.origin}${url.pathname} carries credentials`,
      `${url.origin}${url.pathname}`,
    );
  }
  if (url.origin !== expected || !/^https?:$/.test(url.protocol)) {
    throw new UntrustedUrlError(
      `the repository's clone_url ${url.origin}${url.pathname} is not on ${expected}, the git host of GITHUB_API_URL ${apiUrl}: no token is sent there`,
      `${url.origin}${url.pathname}`,
    );
  }
  return url.toString();
}

/**
 * The environment that gives one git call the token for `cloneUrl`'s origin. Credential helpers are switched off
 * for the call (none is asked, none stores anything), and git's traces redact the header should one be on.
 */
export function gitAuthEnv(token: string, cloneUrl: string): NodeJS.ProcessEnv {
  const origin = new URL(cloneUrl).origin;
  const basic = Buffer.from(`x-access-token:${token}`, 'utf8').toString('base64');
  return {
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: `http.${origin}/.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    GIT_CONFIG_KEY_1: 'credential.helper',
    GIT_CONFIG_VALUE_1: '',
    GIT_TRACE_REDACT: '1',
  };
}

/** The forms a token takes in what git and HTTP carry (itself, and inside the basic-auth header), for redaction. */
export function tokenForms(token: string): string[] {
  return [token, Buffer.from(`x-access-token:${token}`, 'utf8').toString('base64')];
}
