/**
 * The publishing contract, the part of a forge (forge.ts) that tells a repository's developers what the bot decided
 * and what it is doing, where they look. The engine knows only this; `GitPublisher` (git-publisher.ts: git notes on
 * each verdict's commit and one status ref) is its implementation on plain git, and the GitHub App's (check runs)
 * is the next.
 */
import type { BotStatus } from './bot-status.js';
import type { Verdict } from './types.js';

export type { BotStatus, CandidateState } from './bot-status.js';

/** A verdict as the engine hands it to a publisher: journaled already, under a stable id. */
export interface PublishedVerdict {
  /**
   * The verdict's journal record id: the same for every attempt to publish it, across retries and restarts, and
   * never shared by two verdicts. A publisher that creates something per verdict uses it as that thing's idempotence
   * key, looking it up before creating it again (GitHub: the check run's `external_id`).
   */
  id: string;
  verdict: Verdict;
}

export interface Publisher {
  /**
   * Where this publisher publishes, one name each (the journal records what was published where, by these names,
   * so they must stay the same across restarts and never hold credentials): for plain git, the repository and, in
   * the three-repository layout, the candidates repository.
   */
  readonly destinations: readonly string[];
  /**
   * Publishes to `destination` the verdicts it has not received yet (only the latest per commit) and
   * the bot's status (null: leave it as it is). Resolves null when done, or why it could not (one line, no
   * credentials): the journal stays the source of truth and the engine hands the same verdicts over again at its
   * next publication, so publishing one twice must be harmless. Verdicts are journaled before they are published,
   * so a crash loses none.
   */
  publish(
    destination: string,
    verdicts: readonly PublishedVerdict[],
    status: BotStatus | null,
  ): Promise<string | null>;
}
