/**
 * `pharos build --trace FILE`, through the real bin: a Chrome/Perfetto trace
 * with one complete ('X') slice per target, pools as tracks named by
 * thread_name metadata, and the build's own output (here NDJSON) unchanged.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TraceEvent, TraceFile } from '../../../lib/run/trace.js';
import { GRAPH_URL, cli, tempRoot } from '../engine/helpers.js';

const root = tempRoot('pharos-trace-');
// a and b share pool p (2 places) and each waits until the other has started,
// so they provably overlap and need two tracks; c (pool p) needs both; d has no pool.
writeFileSync(
  join(root, 'pharos.build.ts'),
  `import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { target } from ${JSON.stringify(GRAPH_URL)};
const root = ${JSON.stringify(root)};
async function meet(me: string, other: string): Promise<number> {
  writeFileSync(join(root, me + '.started'), '');
  const t0 = Date.now();
  while (!existsSync(join(root, other + '.started'))) {
    if (Date.now() - t0 > 20000) throw new Error(me + ': timed out waiting for ' + other + ' to start');
    await new Promise((r) => setTimeout(r, 10));
  }
  return 1;
}
export default () => {
  const a = target({ name: 'a', pool: 'p', run: () => meet('a', 'b') });
  const b = target({ name: 'b', pool: 'p', run: () => meet('b', 'a') });
  const c = target({ name: 'c', pool: 'p', deps: { a, b }, run: async () => 3 });
  const d = target({ name: 'd', run: async () => 4 });
  return { targets: [a, b, c, d], pools: { p: 2 } };
};
`,
);

async function build(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = cli(root, ['build', ...args]);
  const r = await c.exit;
  return { code: r.code, out: c.stdout(), err: c.stderr() };
}

function read(file: string): { slices: Map<string, TraceEvent>; threads: Map<number, string> } {
  const t = JSON.parse(readFileSync(file, 'utf8')) as TraceFile;
  const slices = new Map(t.traceEvents.filter((e) => e.ph === 'X').map((e) => [e.name, e]));
  const threads = new Map(t.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [e.tid, String(e.args?.name)]));
  return { slices, threads };
}

test('a slice per target, pools as tracks, NDJSON on stdout as without --trace', async () => {
  const file = join(root, 'out', 'build.trace.json');
  const r = await build(['--json', '-j', '4', '--trace', 'out/build.trace.json', 'c', 'd']);
  assert.is(r.code, 0, r.err);
  // The build's own output is what --json always gives: one event per line, ending with build-done.
  const events = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
  assert.is(events[0]!.type, 'build-start');
  assert.is(events.at(-1)!.type, 'build-done');
  assert.ok(existsSync(file), 'the trace file is written (relative to the working directory)');
  const { slices, threads } = read(file);
  assert.equal([...slices.keys()].sort(), ['a', 'b', 'c', 'd']);
  for (const s of slices.values()) {
    assert.ok(s.ts >= 0 && (s.dur ?? -1) >= 0, `${s.name}: ts ${s.ts} dur ${s.dur}`);
    assert.is(s.cat, 'built');
    assert.equal(s.args?.status, 'built');
  }
  const a = slices.get('a')!;
  const b = slices.get('b')!;
  const c = slices.get('c')!;
  assert.is.not(a.tid, b.tid, 'a and b overlap, so they are on two tracks');
  assert.equal([threads.get(a.tid), threads.get(b.tid)].sort(), ['pool p #1', 'pool p #2']);
  assert.match(threads.get(c.tid) ?? '', /^pool p #[12]$/, 'c reuses a track of its pool');
  assert.is(threads.get(slices.get('d')!.tid), 'jobs #1');
  assert.is([...threads.values()].filter((n) => n.startsWith('pool p')).length, 2, 'a pool of 2 places: 2 tracks');
  // c starts after what it needs ends (1 µs of rounding allowed).
  for (const dep of [a, b]) assert.ok(c.ts + 1 >= dep.ts + dep.dur!, `c (${c.ts}) after ${dep.name} (${dep.ts}+${dep.dur})`);
});

test('an up-to-date build traces its cached targets; without --trace no file', async () => {
  const r = await build(['--trace', 'again.json', 'c', 'd']);
  assert.is(r.code, 0, r.err);
  const { slices } = read(join(root, 'again.json'));
  assert.equal([...slices.values()].map((s) => `${s.name}:${s.cat}`).sort(), ['a:cached', 'b:cached', 'c:cached', 'd:cached']);
  assert.match(r.err, /ok: 4 up to date/, 'the screen shows what it always does');
  const plain = await build(['c']);
  assert.is(plain.code, 0, plain.err);
});

test('a trace that cannot be written fails before the build, exit 74, one error', async () => {
  writeFileSync(join(root, 'a-file'), '');
  const r = await build(['--trace', 'a-file/t.json', 'd']);
  assert.is(r.code, 74, r.err);
  assert.match(r.err, /^error: cannot write the trace .*a-file\/t\.json/);
  assert.not.match(r.err, /\n\s+at /);
});

test.run();
