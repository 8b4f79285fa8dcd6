#!/usr/bin/env node
// `node bench/lib/webhook-front-end.mjs SECRET DIR`: premerge-bot serve's webhook front end alone, from the built
// package: the node:http handler, @octokit/webhooks' verify() and receive(), and the delivery journal (one fsynced
// record per delivery, in DIR), with a push handler that only counts. Prints `listening PORT` on stdout, then
// `handled N` for every line it reads on stdin; exits on SIGTERM. The benchmark runs it pinned to one CPU.
import { join } from 'node:path';
import { Webhooks } from '@octokit/webhooks';

/** @typedef {typeof import('../../packages/premerge-bot/src/index.js')} Bot */

const [secret, dir] = process.argv.slice(2);
if (!secret || !dir) {
  console.error('usage: webhook-front-end.mjs SECRET DIR');
  process.exit(2);
}
const dist = join(import.meta.dirname, '../../packages/premerge-bot/dist/index.js');
/** @type {Bot} */
const bot = await import(dist);
const journal = bot.DeliveryJournal.open(join(dir, 'deliveries.jsonl'));
const webhooks = new Webhooks({ secret });
let handled = 0;
webhooks.on('push', () => {
  handled++;
});
const server = await bot.startWebhookServer({
  port: 0,
  host: '127.0.0.1',
  webhooks,
  accept: (d) => journal.claim(d.id, d.name, bot.pushHint(d.name, d.payload)),
});
process.stdout.write(`listening ${server.port}\n`);
process.stdin.setEncoding('utf8').on('data', () => process.stdout.write(`handled ${handled}\n`));
process.on('SIGTERM', () => {
  void server.close().then(() => {
    journal.close();
    process.exit(0);
  });
});
