/**
 * Webhook deliveries: each payload is checked against `@octokit/openapi-webhooks`, signed with
 * `@octokit/webhooks-methods`' `sign()`, POSTed to the App's webhook URL with GitHub's headers, one at a time in the
 * order the events happened, and recorded (status code, duration) as GitHub's "Recent deliveries" list does.
 * Tests can make deliveries go wrong the ways they do on GitHub: lost (drop), sent twice (duplicate), held and
 * released out of order, or redelivered later with the same GUID.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { sign } from '@octokit/webhooks-methods';

/** @typedef {import('./model.mjs').App} App */
/** @typedef {import('./model.mjs').Clock} Clock */
/** @typedef {import('./schemas.mjs').Schemas} Schemas */
/** @typedef {import('./schemas.mjs').WebhookName} WebhookName */

/** GitHub gives up on a delivery after 10 seconds. */
const DELIVERY_TIMEOUT_MS = 10_000;
/** What GitHub's User-Agent looks like (`GitHub-Hookshot/<short hex>`). */
const USER_AGENT = 'GitHub-Hookshot/5f4a8e1';

/**
 * One delivery attempt.
 * @typedef {object} Delivery
 * @property {number} id           this attempt's id
 * @property {string} guid         `X-GitHub-Delivery`: the same on a redelivery or a duplicate
 * @property {string} event        `X-GitHub-Event`
 * @property {string | null} action
 * @property {WebhookName} schema  the payload's schema in `@octokit/openapi-webhooks`
 * @property {number} appId
 * @property {number | null} installationId
 * @property {number | null} repositoryId
 * @property {any} payload
 * @property {string} body         exactly the bytes that were signed and sent
 * @property {Record<string, string>} headers
 * @property {string | null} url
 * @property {boolean} redelivery
 * @property {boolean} duplicate   a second copy sent right after the first (a `duplicate()` knob)
 * @property {'queued' | 'held' | 'delivered' | 'failed' | 'dropped'} state
 * @property {number | null} statusCode
 * @property {number | null} durationMs
 * @property {number | null} deliveredAt
 * @property {string | null} error
 */

/**
 * The `X-Hub-Signature-256` of a body, as GitHub computes it: `sha256=` and the HMAC-SHA256 hex digest, made by
 * @octokit/webhooks-methods' `sign()`.
 * @param {string} secret
 * @param {string} body
 */
export function signature(secret, body) {
  return sign(secret, body);
}

/** The settled states: a test waits for one of these. */
const SETTLED = new Set(['delivered', 'failed', 'dropped']);

export class Deliveries {
  /**
   * @param {{ schemas: Schemas, clock: Clock, onBug: (message: string) => void,
   *   onSettled?: (delivery: Delivery) => void }} deps  `onBug` is told about a payload that does not match its
   *   schema (and calls {@link reportBug}); `onSettled` about every attempt that settled
   */
  constructor(deps) {
    this.#deps = deps;
  }

  #deps;
  /** @type {Delivery[]} */
  #records = [];
  /** @type {Delivery[]} */
  #queue = [];
  #nextId = 90001;
  #holding = false;
  #dropNext = 0;
  #duplicateNext = 0;
  /** @type {Promise<void> | null} */
  #pumping = null;
  #events = new EventEmitter();

  /**
   * Queues a new delivery of `payload` to `app` (called by the stand-in when something happens).
   * @param {App} app
   * @param {{ schema: WebhookName, event: string, payload: any, installationId: number | null,
   *   repositoryId: number | null }} event
   * @returns {Delivery}
   */
  enqueue(app, event) {
    const body = JSON.stringify(event.payload);
    const guid = randomUUID();
    /** @type {Delivery} */
    const delivery = {
      id: this.#nextId++,
      guid,
      event: event.event,
      action: typeof event.payload.action === 'string' ? event.payload.action : null,
      schema: event.schema,
      appId: app.id,
      installationId: event.installationId,
      repositoryId: event.repositoryId,
      payload: event.payload,
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'x-github-event': event.event,
        'x-github-delivery': guid,
        'x-github-hook-id': String(app.hookId),
        'x-github-hook-installation-target-id': String(app.id),
        'x-github-hook-installation-target-type': 'integration',
      },
      url: app.webhookUrl,
      redelivery: false,
      duplicate: false,
      state: 'queued',
      statusCode: null,
      durationMs: null,
      deliveredAt: null,
      error: null,
    };
    const check = this.#deps.schemas.checkWebhook(event.schema, event.payload);
    this.#records.push(delivery);
    if (!check.ok) {
      // The stand-in built a payload GitHub would not send: its bug, reported loudly, never sent.
      const message = `stand-in bug: ${event.schema} payload does not match @octokit/openapi-webhooks: ${check.errors}`;
      this.#settle(delivery, 'failed', { error: message });
      this.#deps.onBug(message);
      return delivery;
    }
    this.#push(delivery, app);
    return delivery;
  }

  /** @type {Map<number, App>} */
  #apps = new Map();

  /** @param {Delivery} delivery @param {App} app */
  #push(delivery, app) {
    this.#apps.set(delivery.appId, app);
    delivery.state = this.#holding ? 'held' : 'queued';
    this.#queue.push(delivery);
    this.#pump();
  }

  /**
   * Every delivery attempt so far, oldest first; with a filter, those it accepts.
   * @param {(d: Delivery) => boolean} [filter]
   */
  list(filter) {
    return filter ? this.#records.filter(filter) : [...this.#records];
  }

  /**
   * Resolves with the first settled (delivered, failed or dropped) delivery `predicate` accepts, already or later;
   * rejects when a stand-in bug is reported first, or after `timeoutMs` (a bound for a broken test, not a wait).
   * @param {(d: Delivery) => boolean} predicate
   * @param {{ timeoutMs?: number, after?: number }} [options]  `after`: only attempts with a larger id
   * @returns {Promise<Delivery>}
   */
  waitFor(predicate, options = {}) {
    const { timeoutMs = 30_000, after = 0 } = options;
    const accepts = (/** @type {Delivery} */ d) => d.id > after && SETTLED.has(d.state) && predicate(d);
    const found = this.#records.find(accepts);
    if (found) return Promise.resolve(found);
    if (this.#bugs[0] !== undefined) return Promise.reject(new Error(this.#bugs[0]));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        done();
        const seen = this.#records.map(
          (d) => `${d.guid} ${d.event}${d.action ? `.${d.action}` : ''} ${d.state}`,
        );
        reject(
          new Error(`no such delivery within ${timeoutMs} ms; deliveries: ${seen.join(', ') || 'none'}`),
        );
      }, timeoutMs);
      const onSettled = (/** @type {Delivery} */ d) => {
        if (!accepts(d)) return;
        done();
        resolve(d);
      };
      const onBug = (/** @type {string} */ message) => {
        done();
        reject(new Error(message));
      };
      const done = () => {
        clearTimeout(timer);
        this.#events.off('settled', onSettled);
        this.#events.off('bug', onBug);
      };
      this.#events.on('settled', onSettled);
      this.#events.on('bug', onBug);
    });
  }

  /** The next `n` deliveries are lost: recorded as dropped, never sent (a missed webhook). */
  drop(n = 1) {
    this.#dropNext += n;
  }

  /** The next `n` deliveries are sent twice, with the same GUID (GitHub does deliver twice at times). */
  duplicate(n = 1) {
    this.#duplicateNext += n;
  }

  /** Holds every delivery from now on until {@link release} (to deliver a batch out of order). */
  hold() {
    this.#holding = true;
  }

  /**
   * Sends the held deliveries: in the order they happened (`'fifo'`), newest first (`'reverse'`), or in the order
   * of the given GUIDs (the others after them, in order); then stops holding.
   * @param {{ order?: 'fifo' | 'reverse' | string[] }} [options]
   */
  release(options = {}) {
    const { order = 'fifo' } = options;
    this.#holding = false;
    const held = this.#queue.filter((d) => d.state === 'held');
    let sorted = held;
    if (order === 'reverse') sorted = [...held].reverse();
    else if (Array.isArray(order)) {
      const rank = (/** @type {Delivery} */ d) => {
        const i = order.indexOf(d.guid);
        return i === -1 ? order.length : i;
      };
      sorted = [...held].sort((a, b) => rank(a) - rank(b));
    }
    this.#queue = [...this.#queue.filter((d) => d.state !== 'held'), ...sorted];
    for (const d of sorted) d.state = 'queued';
    this.#pump();
  }

  /**
   * Sends a past delivery again, same GUID and body, as "Redeliver" in GitHub's UI (or its API) does.
   * @param {string | Delivery} which  a GUID or a delivery
   * @returns {Delivery} the new attempt (settles later; wait for it with {@link waitFor})
   */
  redeliver(which) {
    const guid = typeof which === 'string' ? which : which.guid;
    const original = this.#records.find((d) => d.guid === guid);
    const app = original && this.#apps.get(original.appId);
    if (!original || !app) throw new Error(`no delivery ${guid} to redeliver`);
    const again = this.#attempt(original, { url: app.webhookUrl, redelivery: true, duplicate: false });
    this.#records.push(again);
    this.#push(again, app);
    return again;
  }

  /**
   * A new, unsent attempt at the same delivery (same GUID and body), with its own id.
   * @param {Delivery} of
   * @param {Partial<Pick<Delivery, 'url' | 'redelivery' | 'duplicate'>>} changes
   * @returns {Delivery}
   */
  #attempt(of, changes) {
    return {
      ...of,
      ...changes,
      id: this.#nextId++,
      headers: { ...of.headers },
      state: 'queued',
      statusCode: null,
      durationMs: null,
      deliveredAt: null,
      error: null,
    };
  }

  /** Resolves once nothing is queued or being sent (held deliveries do not count). */
  async idle() {
    while (this.#pumping) await this.#pumping;
  }

  #pump() {
    if (this.#pumping) return;
    this.#pumping = (async () => {
      for (let next = this.#takeNext(); next; next = this.#takeNext()) await this.#send(next);
    })().finally(() => {
      this.#pumping = null;
    });
  }

  #takeNext() {
    const i = this.#queue.findIndex((d) => d.state === 'queued');
    if (i === -1) return undefined;
    return this.#queue.splice(i, 1)[0];
  }

  /** @param {Delivery} delivery */
  async #send(delivery) {
    if (this.#dropNext > 0) {
      this.#dropNext--;
      this.#settle(delivery, 'dropped', {});
      return;
    }
    const app = this.#apps.get(delivery.appId);
    if (!app) throw new Error(`delivery ${delivery.guid} has no app`);
    const copies = this.#duplicateNext > 0 ? 2 : 1;
    if (copies === 2) this.#duplicateNext--;
    await this.#post(delivery, app);
    if (copies === 2) {
      const twin = this.#attempt(delivery, { duplicate: true });
      this.#records.push(twin);
      await this.#post(twin, app);
    }
  }

  /** @param {Delivery} delivery @param {App} app */
  async #post(delivery, app) {
    delivery.headers['x-hub-signature-256'] = await signature(app.webhookSecret, delivery.body);
    if (!delivery.url) {
      this.#settle(delivery, 'failed', { error: 'the App has no webhook URL' });
      return;
    }
    const started = performance.now();
    const deliveredAt = this.#deps.clock.now();
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: delivery.headers,
        body: delivery.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      await response.arrayBuffer();
      const ok = response.status >= 200 && response.status < 300;
      this.#settle(delivery, ok ? 'delivered' : 'failed', {
        statusCode: response.status,
        durationMs: performance.now() - started,
        deliveredAt,
        error: ok ? null : `Invalid HTTP Response: ${response.status}`,
      });
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      this.#settle(delivery, 'failed', {
        durationMs: performance.now() - started,
        deliveredAt,
        error: timedOut
          ? 'timed out'
          : `failed to connect: ${error instanceof Error ? (error.cause ?? error).toString() : error}`,
      });
    }
  }

  /**
   * @param {Delivery} delivery
   * @param {Delivery['state']} state
   * @param {Partial<Pick<Delivery, 'statusCode' | 'durationMs' | 'deliveredAt' | 'error'>>} facts
   */
  #settle(delivery, state, facts) {
    Object.assign(delivery, facts, { state });
    this.#events.emit('settled', delivery);
    this.#deps.onSettled?.(delivery);
  }

  /** @type {string[]} */
  #bugs = [];

  /**
   * Tells waiting tests about a stand-in bug: they fail with it instead of timing out, and so does every later
   * {@link waitFor} that does not find its delivery at once.
   * @param {string} message
   */
  reportBug(message) {
    this.#bugs.push(message);
    this.#events.emit('bug', message);
  }
}
