import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockHolder, tryLock } from '../src/lock.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'premerge-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A process that takes the lock file itself (as a bot would), then waits to be killed. */
function lockingChild(path: string) {
  const script = `
    const fs = require('node:fs');
    const st = fs.readFileSync('/proc/self/stat', 'utf8');
    const startTime = st.slice(st.lastIndexOf(')') + 2).split(' ')[19];
    fs.writeFileSync(${JSON.stringify(path)}, JSON.stringify({ pid: process.pid, startTime, host: require('node:os').hostname() }), { flag: 'wx' });
    console.log('locked');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((res) => child.stdout!.once('data', () => res()));
  return { child, ready };
}

describe('repository lock', () => {
  it('is exclusive while held and free again once released', () => {
    const path = join(dir, 'lock');
    const a = tryLock(path);
    expect(a.acquired).toBe(true);
    const b = tryLock(path);
    expect(b).toEqual({ acquired: false, holderPid: process.pid });
    expect(lockHolder(path)).toBe(process.pid);
    if (a.acquired) a.lock.release();
    expect(existsSync(path)).toBe(false);
    const c = tryLock(path);
    expect(c.acquired).toBe(true);
    if (c.acquired) c.lock.release();
  });

  it('a SIGKILLed holder does not keep it', async () => {
    const path = join(dir, 'lock');
    const { child, ready } = lockingChild(path);
    await ready;
    expect(tryLock(path)).toEqual({ acquired: false, holderPid: child.pid });
    const exited = new Promise((res) => child.once('exit', res));
    child.kill('SIGKILL');
    await exited;
    const after = tryLock(path);
    expect(after.acquired).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    if (after.acquired) after.lock.release();
  });

  it('a lock naming a live pid with another start time (pid reused) is stale', () => {
    const path = join(dir, 'lock');
    writeFileSync(path, JSON.stringify({ pid: process.pid, startTime: '1', host: hostname() }));
    const r = tryLock(path);
    expect(r.acquired).toBe(true);
    if (r.acquired) r.lock.release();
  });

  it('a lock from another host is never taken over', () => {
    const path = join(dir, 'lock');
    writeFileSync(path, JSON.stringify({ pid: 999999, startTime: '1', host: 'elsewhere' }));
    expect(tryLock(path).acquired).toBe(false);
  });
});
