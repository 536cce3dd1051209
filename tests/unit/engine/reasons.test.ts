/**
 * Skips and failures carry their cause as a value (`skip`, `fail`) on the
 * result and on the `target-done` event; `reason` is its sentence.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, failText, skipText, target, type BuildEvent, type TargetResult } from '../../../lib/index.js';
import { memoryReporter } from '../../../lib/run/reporters.js';
import { PharosError } from '../../../lib/errors.js';
import { tempRoot } from './helpers.js';

const pick = (r: TargetResult | undefined) => r && { status: r.status, reason: r.reason, skip: r.skip, fail: r.fail };

test('a failed run, a skipped dependent, a stopped build', async () => {
  const root = tempRoot();
  const f = target({ name: 'f', run: async () => Promise.reject(new PharosError('boom')) });
  const d = target({ name: 'd', deps: { f }, run: async () => 1 });
  const e = target({ name: 'e', deps: { d }, run: async () => 1 });
  const x = target({ name: 'x', run: async () => 1 });
  const mem = memoryReporter();
  const s = await createEngine({ root, definition: { targets: [f, d, e, x] }, jobs: 1, reporter: mem }).build(['e', 'x', 'f']);
  assert.equal(pick(s.targets.f), { status: 'failed', reason: 'failed while running', skip: undefined, fail: { kind: 'error', while: 'running' } });
  assert.equal(pick(s.targets.d), { status: 'skipped', reason: 'dependency f failed', skip: { kind: 'dependency', dependency: 'f', status: 'failed' }, fail: undefined });
  assert.equal(pick(s.targets.e), { status: 'skipped', reason: 'dependency d was skipped', skip: { kind: 'dependency', dependency: 'd', status: 'skipped' }, fail: undefined });
  assert.equal(s.targets.x?.skip?.kind, 'stopped-after-failure');
  const done = mem.events.find((ev): ev is Extract<BuildEvent, { type: 'target-done' }> => ev.type === 'target-done' && ev.name === 'd');
  assert.equal(done?.skip, { kind: 'dependency', dependency: 'f', status: 'failed' });
});

test('an interrupted build: interrupted skips and failures', async () => {
  const root = tempRoot();
  const ac = new AbortController();
  const slow = target({ name: 'slow', run: async (ctx) => (ac.abort(), await ctx.exec('sleep', ['5']), 1) });
  const after = target({ name: 'after', run: async () => 1 });
  const s = await createEngine({ root, definition: { targets: [slow, after] }, jobs: 1, killGraceMs: 100 }).build(['slow', 'after'], { signal: ac.signal });
  assert.equal(s.targets.slow?.fail, { kind: 'interrupted' });
  assert.is(s.targets.slow?.reason, 'interrupted');
  assert.equal(s.targets.after?.skip, { kind: 'interrupted' });
});

test('the sentences', () => {
  assert.is(skipText({ kind: 'build-stopped' }), 'build stopped');
  assert.is(skipText({ kind: 'stopped-after-failure' }), 'build stopped after a failure');
  assert.is(skipText({ kind: 'interrupted' }), 'interrupted');
  assert.is(failText({ kind: 'error', while: 'checking' }), 'failed while checking');
});

test.run();
