/**
 * What a run runs (src/run-plan.ts): `--filter` on transcript labels (whole transcripts, never steps),
 * files grouped into units, serial groups from `>>>! serial` and from a config, `--shard` over units.
 */
import { describe, expect, it } from 'vitest';
import { ProtodocError, TranscriptParseError } from '../src/errors.js';
import { parseMarkdown } from '../src/markdown.js';
import { planRun } from '../src/run-plan.js';
import { inShard } from '../src/shard.js';
import { parseTranscript } from '../src/transcript.js';
import type { Transcript } from '../src/transcript-model.js';

const CWD = '/repo';

function txt(path: string, text = '>>> PING\n+PONG\n'): Transcript {
  return parseTranscript(text, path);
}

/** A page with two blocks: the first's first step on line 4, the second's on line 10. */
function page(path: string): Transcript[] {
  return parseMarkdown(
    '# Page\n\n```protodoc\n>>> PING\n+PONG\n```\n\nMore.\n```protodoc\n>>> ECHO hi\n$2\nhi\n```\n',
    path,
  );
}

function thrown(fn: () => unknown): ProtodocError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtodocError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

describe('planRun', () => {
  it('keeps every transcript in input order, one unit per file', () => {
    const transcripts = [txt('a.txt'), ...page('doc.md'), txt('b.txt')];
    const plan = planRun(transcripts, { cwd: CWD });
    expect(plan.selected).toEqual([0, 1, 2, 3]);
    expect(plan.units.map((u) => u.files.map((f) => [f.path, f.position, f.transcripts]))).toEqual([
      [['a.txt', 0, [0]]],
      [['doc.md', 1, [1, 2]]],
      [['b.txt', 2, [3]]],
    ]);
  });

  it('filters whole transcripts by label: the path, or PATH:LINE of a Markdown block', () => {
    const transcripts = [
      txt('specs/a.txt', '>>> PING\n+PONG\n>>> ECHO x\n$1\nx\n'),
      ...page('doc.md'),
      txt('b.txt'),
    ];
    expect(planRun(transcripts, { filter: /^specs\//, cwd: CWD }).selected).toEqual([0]);
    // A block by its first step's line (the label reports show); the page's other block does not run.
    expect(planRun(transcripts, { filter: /doc\.md:10$/, cwd: CWD }).selected).toEqual([2]);
    expect(planRun(transcripts, { filter: /doc\.md/, cwd: CWD }).selected).toEqual([1, 2]);
    // Steps are never filtered: a matching transcript keeps all of its steps.
    const kept = planRun(transcripts, { filter: /a\.txt/, cwd: CWD });
    expect(transcripts[kept.selected[0]!]!.steps).toHaveLength(2);
    // Not a step's text or line.
    expect(thrown(() => planRun(transcripts, { filter: /ECHO/, cwd: CWD })).code).toBe('PROTODOC_ERR_USAGE');
  });

  it('refuses a filter that matches nothing, but runs an empty shard', () => {
    const err = thrown(() => planRun([txt('a.txt')], { filter: /nothing/, cwd: CWD }));
    expect(err.code).toBe('PROTODOC_ERR_USAGE');
    expect(err.message).toBe("--filter 'nothing' matches no transcript");
    const index = [1, 2].find((i) => !inShard('a.txt', { index: i, count: 2 }))!;
    expect(planRun([txt('a.txt')], { shard: { index: index, count: 2 }, cwd: CWD })).toEqual({
      units: [],
      files: [],
      selected: [],
    });
  });

  it('puts the files of a serial group in one unit, in input order, keyed by the group name', () => {
    const transcripts = [
      txt('db/one.txt', '>>>! serial db\n>>> PING\n+PONG\n'),
      txt('free.txt'),
      txt('db/two.txt', '>>>! serial db\n>>> PING\n+PONG\n'),
    ];
    const plan = planRun(transcripts, { cwd: CWD });
    expect(plan.units.map((u) => [u.key, u.serial, u.files.map((f) => f.path)])).toEqual([
      ['db', 'db', ['db/one.txt', 'db/two.txt']],
      ['free.txt', undefined, ['free.txt']],
    ]);
    // Positions stay those of input order, whatever the units.
    expect(plan.files.map((f) => [f.path, f.position])).toEqual([
      ['db/one.txt', 0],
      ['free.txt', 1],
      ['db/two.txt', 2],
    ]);
    // A whole group is in one shard: its name's.
    for (const index of [1, 2, 3]) {
      const shard = planRun(transcripts, { shard: { index, count: 3 }, cwd: CWD });
      const group = shard.units.find((u) => u.serial === 'db');
      expect(group === undefined ? 0 : group.files.length).toBe(inShard('db', { index, count: 3 }) ? 2 : 0);
    }
  });

  it('takes serial groups from the config by file or directory, the most specific rule winning', () => {
    const transcripts = [
      txt('specs/db/a.txt'),
      txt('specs/db/b.txt'),
      txt('specs/mail.txt'),
      txt('specs/db2.txt'),
    ];
    const plan = planRun(transcripts, {
      cwd: CWD,
      serial: [
        { name: 'db', path: '/repo/specs/db', where: 'protodoc.config.yaml:3:5' },
        { name: 'other', path: '/repo/specs/db/b.txt', where: 'protodoc.config.yaml:5:5' },
      ],
    });
    expect(plan.units.map((u) => [u.serial, u.files.map((f) => f.path)])).toEqual([
      ['db', ['specs/db/a.txt']],
      ['other', ['specs/db/b.txt']],
      // A directory rule is not a prefix of names: specs/db2.txt is not under specs/db.
      [undefined, ['specs/mail.txt']],
      [undefined, ['specs/db2.txt']],
    ]);
  });

  it('reports a file in two groups as a syntax error at its directive', () => {
    const blocks = parseMarkdown(
      '```protodoc\n>>>! serial a\n>>> PING\n+PONG\n```\n```protodoc\n>>>! serial b\n>>> PING\n+PONG\n```\n',
      'two.md',
    );
    const err = thrown(() => planRun(blocks, { cwd: CWD }));
    expect(err).toBeInstanceOf(TranscriptParseError);
    expect(err.message).toBe(
      "two.md:7:1: serial group 'b' differs from 'a' (line 2): a file is in one group",
    );
    const config = thrown(() =>
      planRun([txt('x.txt', '>>>! serial a\n>>> PING\n+PONG\n')], {
        cwd: CWD,
        serial: [{ name: 'b', path: '/repo/x.txt', where: 'protodoc.config.yaml:2:5' }],
      }),
    );
    expect(config.code).toBe('PROTODOC_ERR_SYNTAX');
    expect(config.message).toBe(
      "x.txt:1:1: serial group 'a' differs from 'b', which protodoc.config.yaml:2:5 gives this file",
    );
  });
});

describe('>>>! serial', () => {
  it('is a header directive with one name', () => {
    expect(txt('a.txt', '>>>! serial db-1\n>>> PING\n+PONG\n').serial).toEqual({ name: 'db-1', line: 1 });
    for (const [text, message] of [
      [
        '>>> PING\n+PONG\n>>>! serial db\n',
        "a.txt:3:6: 'serial' is a header directive: put it before the first step",
      ],
      ['>>>! serial\n>>> PING\n+PONG\n', "a.txt:1:6: 'serial' takes exactly one argument (the group's name)"],
      [
        '>>>! serial a b\n>>> PING\n+PONG\n',
        "a.txt:1:6: 'serial' takes exactly one argument (the group's name)",
      ],
      [
        '>>>! serial a/b\n>>> PING\n+PONG\n',
        "a.txt:1:13: invalid serial group name 'a/b': use letters, digits, '.', '-' and '_'",
      ],
      ['>>>! serial a\n>>>! serial a\n>>> PING\n+PONG\n', "a.txt:2:6: duplicate 'serial' directive"],
    ] as const) {
      expect(thrown(() => txt('a.txt', text)).message, text).toBe(message);
    }
  });
});
