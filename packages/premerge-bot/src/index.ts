// The package's one public face: re-exports only.
export * from './aliases.js';
export * from './engine.js';
export * from './errors.js';
export type * from './forge.js';
export { GitForge } from './git-forge.js';
export {
  DeliveryJournal,
  type Pusher as WebhookPusher,
  type PushHint,
  pushHint,
} from './github/deliveries.js';
export {
  DEFAULT_RECONCILE_INTERVAL_MS,
  type ServeEvent,
  type ServeHandle,
  type ServeOptions,
  serve,
} from './github/serve.js';
export { type ServeSettings, serveSettings } from './github/settings.js';
export {
  createWebhookHandler,
  type Delivery,
  MAX_WEBHOOK_BYTES,
  startWebhookServer,
  WEBHOOK_PATH,
  type WebhookHandlerOptions,
  type WebhookServer,
} from './github/webhook-server.js';
export * from './hook.js';
export { githubIdentity, redactCredentials, repoIdentity, repoName } from './repo-identity.js';
export type { IsolationMode, Runner, RunRequest } from './runner.js';
export * from './watch.js';
