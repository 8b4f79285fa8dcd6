/**
 * The publishing contract: how the bot tells a repository's developers what it decided and what it is doing, where
 * they look. The engine knows only this; `GitPublisher` (git-publisher.ts: git notes on each verdict's commit and
 * one status ref) is its implementation on plain git, and the GitHub App's forge (check runs) is the next.
 */
import type { BotStatus } from './bot-status.js';
import type { Verdict } from './types.js';

export type { BotStatus, CandidateState } from './bot-status.js';

export interface Publisher {
  /**
   * Where this publisher publishes, one name each (the journal records what was published where, by these names):
   * for plain git, the repository and, in the three-repository layout, the candidates repository.
   */
  readonly destinations: readonly string[];
  /**
   * Publishes to `destination` the verdicts it has not received yet (only the latest per commit counts) and the
   * bot's status (null: leave it as it is). Resolves null when done, or why it could not: the journal stays the
   * source of truth and the engine tries again later. Verdicts are journaled before they are published, so a
   * crash loses none.
   */
  publish(
    destination: string,
    verdicts: readonly Verdict[],
    status: BotStatus | null,
  ): Promise<string | null>;
}
