/**
 * The transport registry: which module carries each scheme (src/target.ts parses targets and lists the
 * schemes). Byte streams are here from the start, since every plain run needs them; the others are
 * loaded on first use, so that a redis transcript never loads undici. Adding a transport is one module
 * implementing src/transports/transport.ts and one line here.
 */
import type { Scheme, Target } from '../target.js';
import { stepFacts } from '../transcript-facts.js';
import type { Transcript } from '../transcript-model.js';
import { streamTransport } from './stream.js';
import type { TransportModule } from './transport.js';

/** HTTP/1.1 and HTTP/2 through undici. */
const loadHttp = async (): Promise<TransportModule> => (await import('./http.js')).httpTransport;

/** How each scheme's module is had: at hand, or loaded on first use. */
const REGISTRY: Record<Scheme, TransportModule | (() => Promise<TransportModule>)> = {
  tcp: streamTransport,
  tls: streamTransport,
  unix: streamTransport,
  http: loadHttp,
  https: loadHttp,
  h2: loadHttp,
  h2c: loadHttp,
  ws: async () => (await import('./websocket.js')).webSocketTransport,
  wss: async () => (await import('./websocket.js')).webSocketTransport,
};

const loaded = new Map<Scheme, TransportModule>();

/**
 * The module of a target's scheme if it is at hand (a byte stream, or one loaded before), else undefined:
 * {@link loadTransports} brings it.
 */
export function transportFor(target: Target): TransportModule | undefined {
  const entry = REGISTRY[target.scheme];
  return typeof entry === 'function' ? loaded.get(target.scheme) : entry;
}

/**
 * Whether this process has loaded the HTTP transport (by {@link loadTransports}), and so undici, whose
 * HTTP/1.1 parser is WebAssembly (the CLI tunes V8 for it: src/cli.ts).
 */
export function httpLoaded(): boolean {
  for (const scheme of loaded.keys()) if (REGISTRY[scheme] === loadHttp) return true;
  return false;
}

/**
 * Loads the modules these targets need that are not at hand yet.
 * @returns null when every one is at hand already (the run can start synchronously), else a promise
 */
export function loadTransports(targets: Iterable<Target>): Promise<void> | null {
  let pending: Promise<void>[] | null = null;
  for (const target of targets) {
    const entry = REGISTRY[target.scheme];
    if (typeof entry !== 'function' || loaded.has(target.scheme)) continue;
    const scheme = target.scheme;
    pending ??= [];
    pending.push(
      entry().then((module) => {
        loaded.set(scheme, module);
      }),
    );
  }
  return pending === null ? null : Promise.all(pending).then(() => {});
}

/**
 * Checks, before anything is sent, that each step can go over its connection's transport (each module's
 * `checkSteps` for the connections it carries). The modules must be loaded ({@link loadTransports}).
 * @param targetOf the target of each connection the transcript uses
 * @throws UsageError `PATH:LINE: ...` naming the first step that cannot
 */
export function checkSteps(
  transcript: Transcript,
  targetOf: (connection: string) => Target | undefined,
): void {
  const byModule = new Map<TransportModule, Map<string, Target>>();
  // The connections from the transcript's one pass over its steps, not a pass of its own.
  for (const name of stepFacts(transcript).connections) {
    const target = targetOf(name);
    if (target === undefined) continue;
    const module = transportFor(target);
    if (module === undefined) throw new Error(`transport for ${target.scheme}: not loaded`);
    let targets = byModule.get(module);
    if (targets === undefined) byModule.set(module, (targets = new Map()));
    targets.set(name, target);
  }
  for (const [module, targets] of byModule) module.checkSteps(transcript, (name) => targets.get(name));
}
