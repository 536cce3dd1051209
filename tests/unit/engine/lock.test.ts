import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { acquireLock } from '../../../lib/cache/lock.js';
import { liveStartTime } from '../../../lib/tools/proc.js';
import { PharosError } from '../../../lib/errors.js';
import { REPO, tempRoot, waitFor } from './helpers.js';

const LOCK_URL = new URL('../../../lib/cache/lock.ts', import.meta.url).href;

function throws75(stateDir: string, re: RegExp): void {
  try {
    acquireLock(stateDir, 'test')();
  } catch (e) {
    assert.instance(e, PharosError);
    assert.is((e as PharosError).exitCode, 75);
    assert.match((e as PharosError).message, re);
    return;
  }
  assert.unreachable('the lock was taken');
}

test('an empty or unparsable lock is not stale: reported, left in place', () => {
  for (const body of ['', '{"pid": 12']) {
    const dir = join(tempRoot('pharos-lock-'), '.pharos');
    mkdirSync(dir);
    writeFileSync(join(dir, 'lock'), body);
    throws75(dir, body ? /is not a lock record; it is not treated as stale/ : /it is empty; it is not treated as stale/);
    assert.is(readFileSync(join(dir, 'lock'), 'utf8'), body);
  }
});

test('a live holder blocks; the same pid with another start time (pid reuse) is stale', async () => {
  const dir = join(tempRoot('pharos-lock-'), '.pharos');
  mkdirSync(dir);
  const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
  try {
    const pid = sleeper.pid!;
    const start = await waitFor(`sleep (pid ${pid}) in /proc`, () => liveStartTime(pid));
    const rec = { pid, host: hostname(), startedAt: 'then', command: 'build', token: 'aa' };
    writeFileSync(join(dir, 'lock'), JSON.stringify({ ...rec, procStart: start }));
    throws75(dir, new RegExp(`another pharos run \\(pid ${pid}\\) holds`));
    writeFileSync(join(dir, 'lock'), JSON.stringify({ ...rec, procStart: String(Number(start) + 1) }));
    const release = acquireLock(dir, 'test');
    assert.is(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')).pid, process.pid);
    release();
    assert.not.ok(existsSync(join(dir, 'lock')));
  } finally {
    sleeper.kill('SIGKILL');
  }
});

test('release removes only its own lock', () => {
  const dir = join(tempRoot('pharos-lock-'), '.pharos');
  const release = acquireLock(dir, 'test');
  for (const other of ['', JSON.stringify({ pid: process.pid, host: hostname(), startedAt: 'x', command: '', token: 'someone-else' })]) {
    writeFileSync(join(dir, 'lock'), other);
    release();
    assert.is(readFileSync(join(dir, 'lock'), 'utf8'), other, 'a lock that is not ours stays');
  }
});

/**
 * Real processes contend for one lock; each writes `enter`/`leave` markers to a
 * shared file while it holds it, and some die holding it (kill-9-like exit),
 * so stale takeover runs under contention too. Any `enter` while another
 * holder is inside is an overlap.
 */
test('stress: 4 processes, 3 s, crashes while holding: zero overlaps', async () => {
  const root = tempRoot('pharos-lock-');
  const dir = join(root, '.pharos');
  const markers = join(root, 'markers');
  writeFileSync(markers, '');
  const worker = join(root, 'worker.ts');
  writeFileSync(
    worker,
    `import { appendFileSync } from 'node:fs';
import { acquireLock } from ${JSON.stringify(LOCK_URL)};
const [dir, markers, ms, crashEvery] = process.argv.slice(2);
const until = Date.now() + Number(ms);
let held = 0;
while (Date.now() < until) {
  let release;
  try { release = acquireLock(dir, 'stress'); } catch (e) {
    if (e.exitCode !== 75) throw e;
    await new Promise((r) => setImmediate(r));
    continue;
  }
  appendFileSync(markers, 'enter ' + process.pid + '\\n');
  appendFileSync(markers, '');
  held++;
  if (held % Number(crashEvery) === 0) { appendFileSync(markers, 'crash ' + process.pid + '\\n'); process.exit(3); }
  appendFileSync(markers, 'leave ' + process.pid + '\\n');
  release();
}
`,
  );
  const t0 = Date.now();
  const runMs = 3000;
  const codes: (number | null)[] = [];
  let live = 0;
  const start = (crashEvery: number): void => {
    const c: ChildProcess = spawn(process.execPath, ['--import', 'tsx', worker, dir, markers, String(runMs), String(crashEvery)], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
    live++;
    c.on('exit', (code) => {
      codes.push(code);
      // A crashed worker is replaced while the run lasts, so contention stays.
      if (code === 3 && Date.now() - t0 < runMs) start(crashEvery);
      live--;
    });
  };
  for (let i = 0; i < 4; i++) start(i < 2 ? 15 : 1_000_000);
  await waitFor('every stress worker to exit', () => live === 0, 60_000);
  for (const c of codes) assert.ok(c === 0 || c === 3, `worker exit ${c}`);
  let holder: string | undefined;
  let overlaps = 0;
  let entries = 0;
  let crashes = 0;
  for (const line of readFileSync(markers, 'utf8').split('\n')) {
    const [what, pid] = line.split(' ');
    if (what === 'enter') {
      entries++;
      if (holder !== undefined) overlaps++;
      holder = pid;
    } else if (what === 'leave' || what === 'crash') {
      if (what === 'crash') crashes++;
      if (holder !== pid) overlaps++;
      holder = undefined;
    }
  }
  console.log(`  lock stress: ${entries} acquisitions, ${crashes} died holding it, ${overlaps} overlaps, ${codes.length} processes`);
  assert.ok(crashes >= 1, 'a holder died, so takeover was exercised');
  assert.ok(entries >= 20, `enough contention (${entries} acquisitions)`);
  assert.is(overlaps, 0);
});

test.run();
