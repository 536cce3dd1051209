/**
 * `npm run bench`: Pharos against ninja and make on synthetic layered DAGs,
 * hashing throughput and the stat fast path on a 2 GiB file, and scheduler
 * makespan against the critical-path lower bound.
 *
 * The DAG: N targets in 10 layers; each target has 10 input files of its own
 * and depends on two targets of the previous layer. Two variants of its action:
 * - `inproc`: it concatenates its inputs into `out/<i>.out`: ninja/make spawn
 *   `cat` per edge, a Pharos target runs in-process (how most Pharos targets run);
 * - `proc`: every tool spawns `md5sum` of the inputs as a child process per
 *   target (Pharos through `ctx.exec`, no shell), writing `out/<i>.out`: the
 *   same work for all three.
 * Pharos is measured through its CLI, start-up included; the peak RSS of its
 * no-op (`/usr/bin/time`, when there) is printed under each table.
 * Env: BENCH_SIZES=1000,10000 BENCH_VARIANTS=inproc,proc BENCH_TOOLS=ninja,make,pharos
 * BENCH_REPEAT=3 (no-op runs, best kept) BENCH_ONLY=dag,hash,sched BENCH_BIG_GIB=2.
 * (make takes ~100 s a run at 10,000 targets: BENCH_TOOLS=ninja,pharos for a quick run.)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEngine, target, type Target } from '../lib/index.js';
import { digestFile, hashFile, type StampDb } from '../lib/cache/hash.js';

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));
const GRAPH_URL = new URL('../lib/index.ts', import.meta.url).href;
const JOBS = 2;
const LAYERS = 10;
const INPUTS = 10;

interface Spec {
  n: number;
  deps: number[][];
}

export function makeSpec(n: number): Spec {
  const w = Math.ceil(n / LAYERS);
  const deps: number[][] = [];
  for (let i = 0; i < n; i++) {
    const layer = Math.floor(i / w);
    if (layer === 0) deps.push([]);
    else {
      const base = (layer - 1) * w;
      const pos = i - layer * w;
      deps.push([...new Set([base + pos, base + ((pos + 1) % w)])].filter((d) => d < n));
    }
  }
  return { n, deps };
}

export type Variant = 'inproc' | 'proc';

/** The action of target `i` in the generated pharos.build.ts (`inputs`, `out` in scope). */
const PHAROS_RUN: Record<Variant, string> = {
  inproc: `async (c) => { writeFileSync(out, inputs.map((f) => readFileSync(join(c.root, f))).join('')); return { out }; }`,
  proc: `async (c) => { writeFileSync(out, (await c.exec('md5sum', inputs)).stdout); return { out }; }`,
};
const COMMAND: Record<Variant, string> = { inproc: 'cat', proc: 'md5sum' };

export function generate(dir: string, spec: Spec, variant: Variant = 'inproc'): void {
  mkdirSync(join(dir, 'out'), { recursive: true });
  const input = (i: number, j: number) => `in/${i}/${j}.txt`;
  for (let i = 0; i < spec.n; i++) {
    mkdirSync(join(dir, 'in', String(i)), { recursive: true });
    for (let j = 0; j < INPUTS; j++) writeFileSync(join(dir, input(i, j)), `target ${i} input ${j}\n`);
  }
  writeFileSync(join(dir, 'graph.json'), JSON.stringify(spec));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(
    join(dir, 'pharos.build.ts'),
    `import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { target, alias } from ${JSON.stringify(GRAPH_URL)};
export default (ctx) => {
  const spec = JSON.parse(readFileSync(join(ctx.root, 'graph.json'), 'utf8'));
  const ts = [];
  for (let i = 0; i < spec.n; i++) {
    const deps = {};
    for (const d of spec.deps[i]) deps['d' + d] = ts[d];
    const inputs = [];
    for (let j = 0; j < ${INPUTS}; j++) inputs.push('in/' + i + '/' + j + '.txt');
    const out = join(ctx.root, 'out', i + '.out');
    ts.push(target({ name: 't' + i, deps, inputs, outputFiles: (o) => [o.out],
      run: ${PHAROS_RUN[variant]} }));
  }
  return { targets: ts, aliases: [alias('all', ts)] };
};
`,
  );
  const cmd = COMMAND[variant];
  const nj = ['rule act', `  command = ${cmd} $in > $out`, ''];
  const mk = ['.SUFFIXES:', '.PHONY: all', `all: ${Array.from({ length: spec.n }, (_, i) => `out/${i}.out`).join(' ')}`, ''];
  const dn = ['default ' + Array.from({ length: spec.n }, (_, i) => `out/${i}.out`).join(' ')];
  for (let i = 0; i < spec.n; i++) {
    const ins = Array.from({ length: INPUTS }, (_, j) => input(i, j));
    const deps = spec.deps[i]!.map((d) => `out/${d}.out`);
    nj.push(`build out/${i}.out: act ${ins.join(' ')}${deps.length ? ` | ${deps.join(' ')}` : ''}`);
    mk.push(`out/${i}.out: ${[...ins, ...deps].join(' ')}`, `\t${cmd} ${ins.join(' ')} > $@`);
  }
  writeFileSync(join(dir, 'build.ninja'), [...nj, ...dn, ''].join('\n'));
  writeFileSync(join(dir, 'Makefile'), `${mk.join('\n')}\n`);
}

function timeCmd(cmd: string, args: string[], cwd: string): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 28 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr?.toString().slice(-2000)}`);
  return ms;
}

const tools = {
  pharos: (dir: string) => timeCmd(process.execPath, [join(REPO, 'bin/pharos.js'), '-C', dir, '-j', String(JOBS), 'build', 'all'], dir),
  ninja: (dir: string) => timeCmd('ninja', ['-j', String(JOBS)], dir),
  // -r: no built-in implicit rules (otherwise make searches them for each of the 100,000 inputs).
  make: (dir: string) => timeCmd('make', ['-r', '-j', String(JOBS), '-s', 'all'], dir),
};

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

type Tool = keyof typeof tools;

/** Peak RSS (MB) of a pharos build in `dir` (a no-op when run after one), or undefined without /usr/bin/time. */
function pharosPeakRssMb(dir: string): number | undefined {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, join(REPO, 'bin/pharos.js'), '-C', dir, '-j', String(JOBS), 'build', 'all'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error || r.status !== 0) return undefined;
  const kb = Number(r.stderr.toString().trim().split('\n').pop());
  return Number.isFinite(kb) ? kb / 1024 : undefined;
}

async function dagBench(sizes: number[], variants: Variant[], toolList: Tool[], repeat: number): Promise<void> {
  for (const variant of variants) {
    const action = variant === 'proc' ? 'every target spawns md5sum of its inputs (all tools)' : 'pharos in-process, ninja/make spawn cat';
    console.log(`\n## DAG (${variant}): layered, ${LAYERS} layers, ${INPUTS} inputs/target, -j${JOBS}; ${action}`);
    console.log(`| targets | tool | cold | no-op (best of ${repeat}) | one input changed | cold vs ninja | no-op vs ninja | one vs ninja |`);
    console.log('|---|---|---|---|---|---|---|---|');
    const rss: string[] = [];
    for (const n of sizes) {
      const spec = makeSpec(n);
      const rows: Partial<Record<Tool, { cold: number; noop: number; one: number }>> = {};
      for (const tool of toolList) {
        const dir = mkdtempSync(join(tmpdir(), `pharos-bench-${variant}-${tool}-${n}-`));
        generate(dir, spec, variant);
        const run = tools[tool];
        const cold = run(dir);
        let noop = Infinity;
        for (let k = 0; k < repeat; k++) noop = Math.min(noop, run(dir));
        if (tool === 'pharos') {
          const mb = pharosPeakRssMb(dir);
          if (mb !== undefined) rss.push(`${n} targets: ${mb.toFixed(0)} MB`);
        }
        // Change the content of one input of a first-layer target.
        writeFileSync(join(dir, 'in/0/0.txt'), 'changed\n');
        const one = run(dir);
        rows[tool] = { cold, noop, one };
        rmSync(dir, { recursive: true, force: true });
      }
      const nj = rows.ninja;
      const ratio = (a: number, b: number | undefined): string => (b ? `${(a / b).toFixed(2)}x` : '-');
      for (const tool of toolList) {
        const r = rows[tool]!;
        console.log(`| ${n} | ${tool} | ${fmt(r.cold)} | ${fmt(r.noop)} | ${fmt(r.one)} | ${ratio(r.cold, nj?.cold)} | ${ratio(r.noop, nj?.noop)} | ${ratio(r.one, nj?.one)} |`);
      }
    }
    if (rss.length) console.log(`\npharos no-op peak RSS (goal < 300 MB): ${rss.join(', ')}`);
  }
}

async function hashBench(gib: number): Promise<void> {
  console.log(`\n## Hashing a ${gib} GiB file (page cache warm after writing)`);
  const dir = mkdtempSync(join(tmpdir(), 'pharos-bench-hash-'));
  const p = join(dir, 'big.img');
  const chunk = randomBytes(64 * 1024 * 1024);
  const fd = openSync(p, 'w');
  for (let i = 0; i < gib * 16; i++) writeSync(fd, chunk);
  closeSync(fd);
  const t0 = performance.now();
  await hashFile(p);
  const ms = performance.now() - t0;
  console.log(`sha256 streaming (4 MiB reads): ${fmt(ms)} = ${((gib * 1024 ** 3) / (ms / 1000) / 1e9).toFixed(2)} GB/s`);
  const db: StampDb = new Map();
  await digestFile(db, p);
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    const d = digestFile(db, p);
    if (typeof d !== 'string') throw new Error('stat fast path missed');
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`no-op re-check (stat fast path): median ${(times[10]! * 1000).toFixed(0)} µs, max ${(times[19]! * 1000).toFixed(0)} µs (goal < 5 ms)`);
  rmSync(dir, { recursive: true, force: true });
}

async function makespanBench(): Promise<void> {
  console.log('\n## Makespan vs lower bound max(critical path, work / j), 60 sleep tasks');
  let seed = 42;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const n = 60;
  const dur: number[] = [];
  const deps: number[][] = [];
  for (let i = 0; i < n; i++) {
    dur.push(Math.round(20 + rnd() * 180));
    const ds: number[] = [];
    if (i > 0) for (let k = 0; k < 2; k++) if (rnd() < 0.6) ds.push(Math.floor(rnd() * i));
    deps.push([...new Set(ds)]);
  }
  const ts: Target<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const d: Record<string, Target<unknown>> = {};
    for (const x of deps[i]!) d[`d${x}`] = ts[x]!;
    ts.push(target({ name: `s${i}`, deps: d, always: true, run: async () => (await sleep(dur[i]!), i) }));
  }
  const finish: number[] = [];
  for (let i = 0; i < n; i++) finish.push(dur[i]! + Math.max(0, ...deps[i]!.map((x) => finish[x]!)));
  const cp = Math.max(...finish);
  const work = dur.reduce((a, b) => a + b, 0);
  console.log('| -j | makespan | lower bound | ratio |');
  console.log('|---|---|---|---|');
  for (const j of [2, 8]) {
    const root = mkdtempSync(join(tmpdir(), 'pharos-bench-sched-'));
    writeFileSync(join(root, 'pharos.build.ts'), '');
    const e = () => createEngine({ root, definition: { targets: ts }, jobs: j, lock: false });
    await e().build(ts.map((t) => t.name)); // learn durations
    const s = await e().build(ts.map((t) => t.name));
    const lb = Math.max(cp, work / j);
    console.log(`| ${j} | ${fmt(s.wallMs)} | ${fmt(lb)} | ${(s.wallMs / lb).toFixed(3)} |`);
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const which = (c: string): boolean => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;
  for (const t of ['ninja', 'make', 'cat', 'md5sum']) if (!which(t)) throw new Error(`bench needs ${t} on PATH (apt-get install ${t === 'ninja' ? 'ninja-build' : t})`);
  console.log(`# pharos bench (${new Date().toISOString()}, node ${process.version}, ${execFileSync('nproc').toString().trim()} cores, ninja ${execFileSync('ninja', ['--version']).toString().trim()})`);
  const sizes = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);
  const what = new Set((process.env.BENCH_ONLY ?? 'dag,hash,sched').split(','));
  if (what.has('sched')) await makespanBench();
  if (what.has('hash')) await hashBench(Number(process.env.BENCH_BIG_GIB ?? 2));
  const variants = (process.env.BENCH_VARIANTS ?? 'inproc,proc').split(',') as Variant[];
  for (const v of variants) if (!(v in COMMAND)) throw new Error(`BENCH_VARIANTS: unknown variant ${v} (inproc, proc)`);
  const toolList = (process.env.BENCH_TOOLS ?? 'ninja,make,pharos').split(',') as Tool[];
  for (const t of toolList) if (!(t in tools)) throw new Error(`BENCH_TOOLS: unknown tool ${t} (ninja, make, pharos)`);
  const repeat = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
  if (what.has('dag')) await dagBench(sizes, variants, toolList, repeat);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
