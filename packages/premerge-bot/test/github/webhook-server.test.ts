/**
 * The App's webhook front end, against requests made by hand (GitHub's test vector, bad signatures, oversized
 * bodies) and against the stand-in GitHub's own signed deliveries (real pushes, duplicates, redeliveries).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhooks } from '@octokit/webhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startStandin } from '../../../../tests/github-standin/index.mjs';
import { DeliveryJournal } from '../../src/github/deliveries.js';
import { startWebhookServer, WEBHOOK_PATH, type WebhookServer } from '../../src/github/webhook-server.js';

const VECTOR_SECRET = "It's a Secret to Everybody";
const VECTOR_PAYLOAD = 'Hello, World!';
const VECTOR_SIGNATURE = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

interface Answer {
  status: number;
  body: string;
}

/** POSTs `body` (a string, or chunks streamed without Content-Length) and resolves with the answer. */
function post(
  url: string,
  headers: Record<string, string>,
  body: string | (() => AsyncIterable<Buffer>),
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (typeof body === 'string') req.end(body);
    else {
      (async () => {
        for await (const chunk of body()) {
          if (!req.write(chunk)) await new Promise((done) => req.once('drain', done));
        }
        req.end();
      })().catch(() => undefined);
    }
  });
}

interface Harness {
  server: WebhookServer;
  webhooks: Webhooks;
  accepted: string[];
  handled: Array<{ id: string; name: string }>;
  /** Resolves the next time a push handler runs. */
  nextPush: () => Promise<void>;
  journal: DeliveryJournal;
  dir: string;
}

let h: Harness;
let gate: { release: () => void; promise: Promise<void> } | null = null;

async function harness(secret: string, dir = mkdtempSync(join(tmpdir(), 'premerge-webhooks-'))) {
  const webhooks = new Webhooks({ secret });
  const journal = DeliveryJournal.open(join(dir, 'deliveries.jsonl'));
  const handled: Harness['handled'] = [];
  let waiters: Array<() => void> = [];
  webhooks.on(['push', 'installation'], async (event) => {
    handled.push({ id: event.id, name: event.name });
    for (const w of waiters) w();
    waiters = [];
    if (gate) await gate.promise;
  });
  const accepted: string[] = [];
  const server = await startWebhookServer({
    port: 0,
    host: '127.0.0.1',
    webhooks,
    accept: (d) => {
      const fresh = journal.claim(d.id, d.name);
      if (fresh) accepted.push(d.id);
      return fresh;
    },
  });
  return {
    server,
    webhooks,
    accepted,
    handled,
    journal,
    dir,
    nextPush: () => new Promise<void>((resolve) => waiters.push(resolve)),
  };
}

async function signed(secret: string, body: string, extra: Record<string, string> = {}) {
  return {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-delivery': `d-${Math.random().toString(16).slice(2)}`,
    'x-hub-signature-256': await new Webhooks({ secret }).sign(body),
    ...extra,
  };
}

describe('the webhook handler, by hand', () => {
  beforeEach(async () => {
    h = await harness(VECTOR_SECRET);
  });
  afterEach(async () => {
    gate?.release();
    gate = null;
    await h.server.close();
    h.journal.close();
    rmSync(h.dir, { recursive: true, force: true });
  });

  it("accepts GitHub's documented test vector as signed (then 400: 'Hello, World!' is not JSON)", async () => {
    const a = await post(
      h.server.url,
      {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': 'vector-1',
        'x-hub-signature-256': VECTOR_SIGNATURE,
      },
      VECTOR_PAYLOAD,
    );
    expect(a.status).toBe(400);
    expect(JSON.parse(a.body).message).toBe('the body is not JSON');
    // One byte of the signature changed: refused before the body is looked at.
    const b = await post(
      h.server.url,
      {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': 'vector-2',
        'x-hub-signature-256': VECTOR_SIGNATURE.replace(/.$/, '8'),
      },
      VECTOR_PAYLOAD,
    );
    expect(b.status).toBe(401);
    expect(h.accepted).toEqual([]);
  });

  it('answers 401 to a missing or wrong signature, and does nothing', async () => {
    const body = JSON.stringify({ ref: 'refs/heads/pu' });
    const headers = await signed(VECTOR_SECRET, body);
    const { 'x-hub-signature-256': _, ...unsigned } = headers;
    expect((await post(h.server.url, unsigned, body)).status).toBe(401);
    const other = await signed('another secret', body);
    expect((await post(h.server.url, other, body)).status).toBe(401);
    // The body signed, then changed.
    expect((await post(h.server.url, headers, body.replace('pu', 'pv'))).status).toBe(401);
    expect(h.accepted).toEqual([]);
    expect(h.handled).toEqual([]);
  });

  it('answers 415 to a signed body that is not JSON by content type, 400 without event or delivery headers', async () => {
    const body = JSON.stringify({ zen: 'Keep it logically awesome.' });
    const form = await signed(VECTOR_SECRET, body, { 'content-type': 'application/x-www-form-urlencoded' });
    expect((await post(h.server.url, form, body)).status).toBe(415);
    const { 'x-github-event': _e, ...noEvent } = await signed(VECTOR_SECRET, body);
    expect((await post(h.server.url, noEvent, body)).status).toBe(400);
    const { 'x-github-delivery': _d, ...noDelivery } = await signed(VECTOR_SECRET, body);
    expect((await post(h.server.url, noDelivery, body)).status).toBe(400);
    expect(h.accepted).toEqual([]);
  });

  it('answers 413 to a body over 25 MiB: by its Content-Length, or found while reading a chunked one', async () => {
    const body = JSON.stringify({ x: 1 });
    const headers = await signed(VECTOR_SECRET, body);
    const declared = await post(
      h.server.url,
      { ...headers, 'content-length': String(26 * 1024 * 1024) },
      () =>
        (async function* () {
          yield Buffer.alloc(1024, 0x20);
        })(),
    ).catch((e: Error) => ({ status: -1, body: e.message }));
    expect(declared.status).toBe(413);
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let sent = 0;
    const streamed = await post(h.server.url, headers, () =>
      (async function* () {
        for (let i = 0; i < 40; i++) {
          sent++;
          yield chunk;
        }
      })(),
    ).catch((e: Error) => ({ status: -1, body: e.message }));
    expect(streamed.status).toBe(413);
    expect(sent).toBeGreaterThan(25);
    expect(h.accepted).toEqual([]);
  });

  it('answers 2xx to an event it does not handle, and 404/405 elsewhere', async () => {
    const body = JSON.stringify({ action: 'started' });
    const star = await post(
      h.server.url,
      await signed(VECTOR_SECRET, body, { 'x-github-event': 'star' }),
      body,
    );
    expect(star.status).toBe(202);
    const other = await post(h.server.url.replace(WEBHOOK_PATH, '/elsewhere'), {}, '');
    expect(other.status).toBe(404);
    const got = await new Promise<number>((resolve) =>
      request(h.server.url, { method: 'GET' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).end(),
    );
    expect(got).toBe(405);
    expect(h.handled).toEqual([]);
  });

  it('answers before the work is done', async () => {
    let release!: () => void;
    gate = { release: () => release(), promise: new Promise<void>((r) => (release = r)) };
    const body = JSON.stringify({ ref: 'refs/heads/pu' });
    const started = h.nextPush();
    const a = await post(h.server.url, await signed(VECTOR_SECRET, body), body);
    expect(a.status).toBe(202);
    await started;
    // The handler is still waiting on the gate: the answer did not wait for it.
    expect(h.handled).toHaveLength(1);
    gate.release();
  });

  it('does the work of one delivery id once, also after a restart', async () => {
    const body = JSON.stringify({ ref: 'refs/heads/pu' });
    const headers = await signed(VECTOR_SECRET, body);
    const first = h.nextPush();
    expect((await post(h.server.url, headers, body)).status).toBe(202);
    await first;
    expect((await post(h.server.url, headers, body)).status).toBe(200);
    await h.server.close();
    h.journal.close();
    h = await harness(VECTOR_SECRET, h.dir);
    expect((await post(h.server.url, headers, body)).status).toBe(200);
    expect(h.handled).toEqual([]);
    const fresh = await signed(VECTOR_SECRET, body);
    const next = h.nextPush();
    expect((await post(h.server.url, fresh, body)).status).toBe(202);
    await next;
    expect(h.handled.map((e) => e.id)).toEqual([fresh['x-github-delivery']]);
  });
});

describe('the webhook handler, fed by the stand-in GitHub', () => {
  it("verifies the stand-in's signed deliveries; duplicates and redeliveries do their work once", async () => {
    const gh = await startStandin();
    const dev = gh.createUser({ login: 'dev', email: 'dev@example.com' });
    const app = gh.createApp({ slug: 'premerge-bot' });
    h = await harness(app.webhookSecret);
    app.webhookUrl = h.server.url;
    try {
      const repo = await gh.createRepository({ owner: dev, name: 'project', files: { 'README.md': 'hi\n' } });
      gh.createInstallation({ app, account: dev, repositories: [repo] });
      const installed = await gh.deliveries.waitFor((d) => d.event === 'installation');
      expect(installed.statusCode).toBe(202);
      gh.deliveries.duplicate(1);
      await gh.commit(repo, { branch: 'pu', files: { 'a.txt': 'a\n' }, author: dev });
      const pushes = () => gh.deliveries.list((d) => d.event === 'push' && d.state === 'delivered');
      await gh.deliveries.waitFor((d) => d.event === 'push' && d.duplicate);
      expect(pushes().map((d) => d.statusCode)).toEqual([202, 200]);
      const again = gh.deliveries.redeliver(pushes()[0]!.guid);
      const redelivered = await gh.deliveries.waitFor((d) => d.id === again.id);
      expect(redelivered.statusCode).toBe(200);
      expect(h.handled.filter((e) => e.name === 'push')).toHaveLength(1);
      expect(h.handled.map((e) => e.name).sort()).toEqual(['installation', 'push']);
    } finally {
      await h.server.close();
      h.journal.close();
      rmSync(h.dir, { recursive: true, force: true });
      await gh.close();
    }
  });
});
