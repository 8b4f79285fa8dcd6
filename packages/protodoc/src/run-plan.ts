/**
 * What a run runs, and in which units: the transcripts `--filter` selects, grouped by file (a file's
 * transcripts always run in order on one worker: a Markdown page's blocks build on each other), files of
 * one serial group together (one at a time, in input order), and of those units the ones `--shard` picks.
 */
import { resolve, sep } from 'node:path';
import { TranscriptParseError, TranscriptSyntaxError, UsageError } from './errors.js';
import { transcriptLabel } from './label.js';
import { inShard, type Shard, shardKey } from './shard.js';
import type { Transcript } from './transcript-model.js';

/**
 * A serial group given outside the files (a config file's `serial:`): every transcript file at `path`,
 * or under it when it is a directory, is in group `name`.
 */
export interface SerialRule {
  name: string;
  /** Absolute path of a file or directory. */
  path: string;
  /** Where the rule is written (`FILE:LINE`), for errors. */
  where: string;
}

export interface PlanOptions {
  /** `--filter`: only transcripts whose label (`PATH`, or `PATH:LINE` for a Markdown block) matches. */
  filter?: RegExp;
  /** `--shard I/N`. */
  shard?: Shard;
  /** Serial groups from the config file, beside the files' own `>>>! serial NAME`. */
  serial?: readonly SerialRule[];
  /** What paths are relative to (shard keys, serial rules). @default process.cwd() */
  cwd?: string;
}

/** One file of the run: the indices (into the run's transcripts, in input order) of its selected transcripts. */
export interface PlannedFile {
  path: string;
  /** Position of the file in the run (0-based, input order): reports list results in this order. */
  position: number;
  transcripts: number[];
  /** Place of its first transcript among all that run (`RunPlan.selected`): an event's `index`. */
  first: number;
}

/** What one worker takes at a time: a file, or a serial group's files, run in order. */
export interface RunUnit {
  /** What `--shard` hashes: the file's path relative to the cwd, or the serial group's name. */
  key: string;
  /** The serial group's name, for a group. */
  serial?: string;
  files: PlannedFile[];
}

export interface RunPlan {
  /** Units in input order (of their first file). */
  units: RunUnit[];
  /** Every file that runs, in input order (`position` 0, 1, ...). */
  files: PlannedFile[];
  /** The transcripts that run, in input order (indices into the run's transcripts). */
  selected: number[];
}

/**
 * Plans the run of `transcripts` (in input order, each file's transcripts together).
 * @throws UsageError when `filter` matches no transcript at all (an empty shard is fine: it runs nothing)
 * @throws TranscriptParseError when a file's blocks name two serial groups, or a config rule and the
 *   file disagree
 */
export function planRun(transcripts: readonly Transcript[], options: PlanOptions = {}): RunPlan {
  const cwd = options.cwd ?? process.cwd();
  const { filter } = options;
  // Files in input order, with every transcript (for the file's group) and the selected ones.
  const byPath = new Map<string, { all: number[]; chosen: number[] }>();
  for (const [i, transcript] of transcripts.entries()) {
    let file = byPath.get(transcript.path);
    if (file === undefined) {
      file = { all: [], chosen: [] };
      byPath.set(transcript.path, file);
    }
    file.all.push(i);
    if (filter === undefined || filter.test(transcriptLabel(transcript.path, transcript.steps[0]?.line))) {
      file.chosen.push(i);
    }
  }
  if (filter !== undefined && [...byPath.values()].every((file) => file.chosen.length === 0)) {
    throw new UsageError(`--filter '${filter.source}' matches no transcript`);
  }

  const groups = new Map<string, RunUnit>();
  const units: RunUnit[] = [];
  const errors: TranscriptSyntaxError[] = [];
  for (const [path, file] of byPath) {
    if (file.chosen.length === 0) continue;
    const group = serialGroupOf(path, file.all, transcripts, options.serial ?? [], cwd, errors);
    const planned: PlannedFile = { path, position: -1, transcripts: file.chosen, first: -1 };
    if (group === undefined) {
      units.push({ key: shardKey(path, cwd), files: [planned] });
      continue;
    }
    let unit = groups.get(group);
    if (unit === undefined) {
      unit = { key: group, serial: group, files: [] };
      groups.set(group, unit);
      units.push(unit);
    }
    unit.files.push(planned);
  }
  if (errors.length > 0) throw new TranscriptParseError(errors);

  const shard = options.shard;
  const chosen = shard === undefined ? units : units.filter((unit) => inShard(unit.key, shard));
  const files = chosen.flatMap((unit) => unit.files).sort((a, b) => a.transcripts[0]! - b.transcripts[0]!);
  let first = 0;
  for (const [position, file] of files.entries()) {
    file.position = position;
    file.first = first;
    first += file.transcripts.length;
  }
  return { units: chosen, files, selected: files.flatMap((file) => file.transcripts) };
}

/**
 * The serial group of the file at `path`: from its transcripts' `>>>! serial` (all that say one must say
 * the same) or from a config rule (which must agree with the file's own).
 */
function serialGroupOf(
  path: string,
  indices: readonly number[],
  transcripts: readonly Transcript[],
  rules: readonly SerialRule[],
  cwd: string,
  errors: TranscriptSyntaxError[],
): string | undefined {
  let own: { name: string; line: number } | undefined;
  for (const i of indices) {
    const serial = transcripts[i]!.serial;
    if (serial === undefined) continue;
    if (own === undefined) own = serial;
    else if (serial.name !== own.name) {
      errors.push(
        new TranscriptSyntaxError(
          path,
          serial.line,
          1,
          `serial group '${serial.name}' differs from '${own.name}' (line ${own.line}): a file is in one group`,
        ),
      );
    }
  }
  const absolute = resolve(cwd, path);
  // The most specific rule wins: a file's own over its directory's.
  let rule: SerialRule | undefined;
  for (const r of rules) {
    const covers = absolute === r.path || absolute.startsWith(r.path.endsWith(sep) ? r.path : r.path + sep);
    if (covers && (rule === undefined || r.path.length > rule.path.length)) rule = r;
  }
  if (rule !== undefined && own !== undefined && rule.name !== own.name) {
    errors.push(
      new TranscriptSyntaxError(
        path,
        own.line,
        1,
        `serial group '${own.name}' differs from '${rule.name}', which ${rule.where} gives this file`,
      ),
    );
  }
  return own?.name ?? rule?.name;
}
