/** `serve`'s log: one human line per event on a terminal, one JSON object per line elsewhere. */
import { formatSchedulerEvent, summarize } from '../progress.js';
import type { ServeEvent } from './serve.js';

/** One human line for an App event. */
export function formatServeEvent(e: ServeEvent): string {
  switch (e.type) {
    case 'listening':
      return `premerge-bot serve: App ${e.app} (id ${e.appId}) on ${e.apiUrl}, webhooks at ${e.url}`;
    case 'webhook':
      return `webhook ${e.event ?? '-'} ${e.delivery ?? '-'}: ${e.status} ${e.reason}`;
    case 'ignored':
      return `webhook ${e.event} ${e.delivery}: ignored (${e.reason})`;
    case 'repository':
      return `${e.repo}: ${e.action === 'added' ? 'installed' : 'no longer installed'}`;
    case 'reconciled':
      return `reconciled ${e.repositories} repositor${e.repositories === 1 ? 'y' : 'ies'}${e.queued.length ? `; to look at: ${e.queued.join(', ')}` : ''}`;
    case 'reconcile-failed':
      return `reconcile failed (tried again at the next interval): ${e.message}`;
    case 'scheduled':
      return `${e.repo}: to look at (${e.why})`;
    case 'notice':
      return e.message;
    case 'stopped':
      return 'stopped';
    default:
      return formatSchedulerEvent(e);
  }
}

/** A JSON log line: a timestamp, then the event's fields (engine events keep their own `type`). */
export function serveJsonLine(e: ServeEvent, now = new Date()): string {
  const fields =
    e.type === 'engine'
      ? { repo: e.repo, ...e.event }
      : e.type === 'run-finished'
        ? {
            type: e.type,
            repo: e.repo,
            summary: summarize(e.report),
            verdicts: e.report.verdicts.map((v) => ({ kind: v.kind, branch: v.branch, sha: v.sha })),
          }
        : e;
  return JSON.stringify({ time: now.toISOString(), ...fields });
}
