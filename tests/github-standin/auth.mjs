/**
 * Authentication as GitHub does it: an App proves itself with a JWT signed by its private key (RS256, `iss` its id
 * or client id, at most 10 minutes to expiry), verified here with jose; it trades that for an installation token
 * (`ghs_…`, an hour long, scoped to the installation's repositories and permissions, or fewer); users have
 * personal tokens (`ghp_…`). REST takes `Authorization: token …` or `Bearer …`; git over HTTP takes basic auth
 * whose password is either kind of token.
 */
import { createPublicKey } from 'node:crypto';
import { decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import { newToken } from './model.mjs';

/** @typedef {import('./model.mjs').App} App */
/** @typedef {import('./model.mjs').Account} Account */
/** @typedef {import('./model.mjs').Installation} Installation */
/** @typedef {import('./model.mjs').Repository} Repository */
/** @typedef {import('./model.mjs').Permissions} Permissions */
/** @typedef {import('./model.mjs').Model} Model */

/** GitHub's installation tokens last an hour. */
export const TOKEN_LIFETIME_MS = 60 * 60 * 1000;
/** The longest a JWT may still have to live, from GitHub's docs. */
const JWT_MAX_LIFETIME_S = 10 * 60;
/** How far in the future an `iat` may be (clock drift) before GitHub refuses it. */
const JWT_IAT_TOLERANCE_S = 60;

/**
 * An installation access token the stand-in issued.
 * @typedef {object} InstallationToken
 * @property {string} token
 * @property {Installation} installation
 * @property {Permissions} permissions   what this token may do (the installation's, or fewer on request)
 * @property {Set<number> | null} repositoryIds  the repositories asked for; null: all the installation reaches
 * @property {number} expiresAt
 * @property {number} createdAt
 */

/**
 * Who a request is from.
 * @typedef {{ kind: 'none' }
 *   | { kind: 'app', app: App }
 *   | { kind: 'installation', token: InstallationToken }
 *   | { kind: 'user', user: Account, token: string }
 *   | { kind: 'invalid', message: string }} Credential
 */

/** The installation tokens issued so far. */
export class TokenStore {
  /** @param {Model} model */
  constructor(model) {
    this.model = model;
    /** @type {Map<string, InstallationToken>} */
    this.tokens = new Map();
  }

  /**
   * Issues a token for `installation`, optionally narrowed.
   * @param {Installation} installation
   * @param {{ permissions?: Permissions, repositoryIds?: Iterable<number> | null }} [narrow]
   * @returns {InstallationToken}
   */
  issue(installation, narrow = {}) {
    const now = this.model.clock.now();
    /** @type {InstallationToken} */
    const record = {
      token: newToken('ghs_'),
      installation,
      permissions: { ...(narrow.permissions ?? installation.permissions) },
      repositoryIds: narrow.repositoryIds ? new Set(narrow.repositoryIds) : null,
      expiresAt: now + TOKEN_LIFETIME_MS,
      createdAt: now,
    };
    this.tokens.set(record.token, record);
    return record;
  }

  /**
   * Whether a token reaches `repo`: its installation still includes it and the token was not narrowed away from it.
   * @param {InstallationToken} token
   * @param {Repository} repo
   */
  reaches(token, repo) {
    return (
      token.installation.includes(repo) && (token.repositoryIds === null || token.repositoryIds.has(repo.id))
    );
  }

  /**
   * Who a REST `Authorization` header is from.
   * @param {string | undefined} header
   * @returns {Promise<Credential>}
   */
  async fromAuthorization(header) {
    if (!header) return { kind: 'none' };
    const match = /^(token|bearer)\s+(\S+)\s*$/i.exec(header);
    if (!match) return { kind: 'invalid', message: 'Bad credentials' };
    const secret = /** @type {string} */ (match[2]);
    // A JWT is three base64url parts; GitHub tells a JWT from a token by its shape too.
    if (secret.split('.').length === 3) return this.#fromJwt(secret);
    return this.fromToken(secret);
  }

  /**
   * Who a bare token (REST, or the password of git's basic auth) is from.
   * @param {string} secret
   * @returns {Credential}
   */
  fromToken(secret) {
    const installation = this.tokens.get(secret);
    if (installation) {
      if (installation.expiresAt <= this.model.clock.now() || installation.installation.deleted) {
        return { kind: 'invalid', message: 'Bad credentials' };
      }
      return { kind: 'installation', token: installation };
    }
    const user = this.model.accountByToken(secret);
    if (user) return { kind: 'user', user, token: secret };
    return { kind: 'invalid', message: 'Bad credentials' };
  }

  /**
   * Verifies an App's JWT: signature (RS256 with the App's public key), then GitHub's rules on `iat` and `exp`,
   * with GitHub's messages (which @octokit/auth-app recognises as clock skew and retries on).
   * @param {string} jwt
   * @returns {Promise<Credential>}
   */
  async #fromJwt(jwt) {
    const undecodable = {
      kind: /** @type {const} */ ('invalid'),
      message: 'A JSON web token could not be decoded',
    };
    /** @type {import('jose').JWTPayload} */
    let claims;
    try {
      claims = decodeJwt(jwt);
    } catch {
      return undecodable;
    }
    const app = this.model.appByIssuer(claims.iss);
    if (!app) return { kind: 'invalid', message: `Integration not found` };
    const now = Math.floor(this.model.clock.now() / 1000);
    try {
      // Expiry is checked below, with GitHub's wording; jose checks the signature and the algorithm.
      await jwtVerify(jwt, createPublicKey(app.publicKey), {
        algorithms: ['RS256'],
        currentDate: new Date(0),
      });
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) return undecodable;
      throw error;
    }
    if (
      typeof claims.iat !== 'number' ||
      !Number.isInteger(claims.iat) ||
      claims.iat > now + JWT_IAT_TOLERANCE_S
    ) {
      return {
        kind: 'invalid',
        message:
          "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
      };
    }
    if (typeof claims.exp !== 'number' || claims.exp <= now) {
      return {
        kind: 'invalid',
        message:
          "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
      };
    }
    if (
      claims.exp > now + JWT_MAX_LIFETIME_S ||
      claims.exp - claims.iat > JWT_MAX_LIFETIME_S + JWT_IAT_TOLERANCE_S
    ) {
      return { kind: 'invalid', message: "'Expiration time' claim ('exp') is too far in the future" };
    }
    return { kind: 'app', app };
  }
}

/** Levels in order: holding `write` grants `read`. */
const LEVELS = ['read', 'write', 'admin'];

/**
 * Whether `held` grants `wanted` for permission `name`.
 * @param {Permissions} held
 * @param {string} name
 * @param {'read' | 'write'} wanted
 */
export function grants(held, name, wanted) {
  const level = held[name];
  return level !== undefined && LEVELS.indexOf(level) >= LEVELS.indexOf(wanted);
}

/**
 * Whether `asked` is within `granted` (a token may be narrowed, never widened).
 * @param {Permissions} asked
 * @param {Permissions} granted
 */
export function within(asked, granted) {
  return Object.entries(asked).every(
    ([name, level]) =>
      grants(granted, name, level === 'admin' ? 'write' : level) &&
      (level !== 'admin' || granted[name] === 'admin'),
  );
}
