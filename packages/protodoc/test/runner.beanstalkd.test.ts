import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failedStep, run, statuses } from './helpers/run.js';
import { type LaunchedServer, startBeanstalkd } from './helpers/servers.js';

let beanstalkd: LaunchedServer;
beforeAll(async () => {
  beanstalkd = await startBeanstalkd();
});
afterAll(async () => {
  await beanstalkd?.stop();
});

describe('runner against beanstalkd with two clients', () => {
  it('lets one client block on reserve until the other puts a job', async () => {
    // The worker's reserve is sent before the producer connects; its reply can only come after the put.
    const transcript = `>>>@worker
>>> watch jobs-a
WATCHING 2
>>> reserve-with-timeout 30
>>>@producer
>>> use jobs-a
USING jobs-a
>>> put 0 0 60 5
>>> hello
INSERTED ...
>>>@worker
RESERVED ... 5
hello
`;
    const result = await run(transcript, { target: beanstalkd.target });
    expect(result.status).toBe('passed');
    expect(result.steps.map((s) => [s.connection, s.status])).toEqual([
      ['worker', 'passed'],
      ['worker', 'passed'],
      ['producer', 'passed'],
      ['producer', 'passed'],
      ['worker', 'passed'],
    ]);
  });

  it('times out the blocked client when nothing is put, and skips the rest', async () => {
    const transcript = `>>>@worker
>>> watch jobs-b
WATCHING 2
>>> reserve-with-timeout 30
>>>@producer
>>> use jobs-b
USING jobs-b
>>>@worker
RESERVED ... 5
hello
>>>@producer
>>> stats-tube jobs-b
OK ...
...
`;
    const result = await run(transcript, { target: beanstalkd.target, timeoutMs: 300 });
    expect(statuses(result)).toEqual(['passed', 'passed', 'passed', 'failed', 'skipped']);
    const step = failedStep(result);
    expect(step.connection).toBe('worker');
    expect(step.failure.reason).toBe('timeout');
    expect(step.failure.line).toBe(9);
  });
});
