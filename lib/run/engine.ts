/**
 * The engine: checks keys, schedules, runs, records. One `Engine` wraps one
 * checked graph and one state directory; `build()` runs the selected targets
 * and their closure, `explain()`/`states()` answer `why` and `list` without
 * running anything.
 *
 * Scheduling is list scheduling, critical-path first: each ready target's
 * priority is its recorded duration plus the largest priority among the
 * targets waiting on it, so long chains start early. `-j` bounds everything
 * running at once; a pool bounds its own members on top of that.
 */
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { PharosError, formatError, isPharosError } from '../errors.js';
import { exec, shellQuote, type ExecOptions } from '../tools/exec.js';
import { closure, select, type Graph, type Node } from '../graph/graph.js';
import type { ProbeContext, RunContext } from '../graph/target.js';
import { MISSING, digestStat, digestString, hashStats, statStamp } from '../cache/hash.js';
import { stableJson } from '../cache/key.js';
import { acquireLock } from '../cache/lock.js';
import type { StateStore } from '../cache/state.js';
import { openOrDiscard } from '../cache/recover.js';
import { RacyCheck } from '../cache/racy.js';
import { EngineContext, type EngineOptions } from './context.js';
import { check as checkTarget, makeProbeCtx as makeProbeContext, type Check } from './check.js';
import { fingerprint, type DepDigests, type Keyed } from './keys.js';
import { io } from '../cache/ioerror.js';
import { GroupLedger, endLeftovers } from './groups.js';
import { TargetLog } from './targetlog.js';
import type { BuildSummary, TargetResult, TargetStatus } from './events.js';

export type TargetState =
  | { name: string; state: 'fresh'; builtAt: string; durationMs: number }
  | { name: string; state: 'dirty'; reason: string; builtAt: string }
  | { name: string; state: 'never-built'; reason: string };

export interface Engine {
  readonly graph: Graph;
  readonly root: string;
  readonly stateDir: string;
  readonly cacheDir: string;
  /** Builds the selectors (names, aliases, globs) and everything they need. */
  build(selectors: readonly string[], o?: { signal?: AbortSignal }): Promise<BuildSummary>;
  /** Why a target would run now (or `up to date`), without running anything. */
  explain(name: string): Promise<string>;
  /** fresh / dirty / never-built of every (or the selected) target. */
  states(selectors?: readonly string[]): Promise<TargetState[]>;
  /** Removes records and logs (all, or of the selected targets). Not the machine cache. A damaged state is discarded (`notes` says so). */
  clean(selectors?: readonly string[]): { removed: string[]; notes: string[] };
  /** Input files and directories of the closure of `selectors` (for watch). */
  inputPaths(selectors: readonly string[]): Promise<string[]>;
  /** Log file path of a target. */
  logPath(name: string): string;
}

export { defaultCacheDir } from '../cache/dir.js';
export { definitionJson, definitionJsonSlow } from './definition.js';
export { plainPath } from './inputs.js';
export { sanitizeName, type EngineOptions } from './context.js';

interface Outcome {
  status: TargetStatus;
  outputDigest?: string;
  output?: unknown;
  reason?: string;
}

export function createEngine(opts: EngineOptions): Engine {
  const c = new EngineContext(opts);
  const { root, stateDir, cacheDir, graph, emit, logPath, inputs } = c;
  const getStore = c.store;
  const check = (n: Node, deps: DepDigests, probeCtx: ProbeContext): Promise<Check> => checkTarget(c, n, deps, probeCtx);
  const makeProbeCtx = (signal: AbortSignal): ProbeContext => makeProbeContext(root, signal);

  const depDigestsOf = (n: Node, outcome: (d: Node) => Outcome | undefined): Record<string, string> | string => {
    const out: Record<string, string> = {};
    for (const d of n.deps.values()) {
      const o = outcome(d);
      if (!o || o.outputDigest === undefined) return d.name;
      out[d.name] = o.outputDigest;
    }
    return out;
  };

  // ---- build ----------------------------------------------------------------
  const build = async (selectors: readonly string[], bo: { signal?: AbortSignal } = {}): Promise<BuildSummary> => {
    const t0 = performance.now();
    const roots = select(graph, selectors);
    const nodes = closure(roots);
    const inSet = new Set(nodes);
    const jobs = Math.max(1, opts.jobs ?? cpus().length + 2);
    const dryRun = opts.dryRun ?? false;
    const release = !dryRun && opts.lock !== false ? acquireLock(stateDir) : () => {};
    let ledger: GroupLedger | undefined;
    let st: StateStore;
    try {
      if (!dryRun) {
        // Under the lock: end what a crashed (kill -9) run left running, then record this run's children.
        const note = await endLeftovers(stateDir, opts.killGraceMs ?? 3000);
        if (note) emit({ type: 'note', text: note });
        ledger = new GroupLedger(stateDir);
      }
      // Re-read state under the lock (another run may have written it) and forget globs (new files).
      c.resetStore();
      inputs.forgetGlobs();
      st = getStore();
    } catch (e) {
      ledger?.close();
      release();
      throw e;
    }
    const hash0 = { files: hashStats.files, bytes: hashStats.bytes };
    const ac = new AbortController();
    const onOuterAbort = (): void => ac.abort();
    const outer = [opts.signal, bo.signal].filter((x): x is AbortSignal => x !== undefined);
    for (const o of outer) {
      if (o.aborted) ac.abort();
      o.addEventListener('abort', onOuterAbort, { once: true });
    }
    const signal = ac.signal;
    const probeCtx = makeProbeCtx(signal);
    const total = nodes.length;
    const results: Record<string, TargetResult> = {};
    const outcomes = new Map<Node, Outcome>();
    const runMs = new Map<Node, number>();
    let finished = 0;
    let started = 0;
    let stop = false;
    let failed = false;

    emit({ type: 'build-start', total, jobs, dryRun, requested: roots.map((r) => r.name) });

    // Critical-path priorities from recorded durations (unknown: 1 ms, so order follows depth).
    const prio = new Map<Node, number>();
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i]!;
      let best = 0;
      for (const s of n.succs) if (inSet.has(s)) best = Math.max(best, prio.get(s) ?? 0);
      prio.set(n, (st.durations.get(n.name) ?? 1) + best);
    }

    const waiting = new Map<Node, number>();
    const poolUse = new Map<string, number>();
    const heaps = new Map<string, Heap>(); // '' = no pool
    const heapFor = (n: Node): Heap => {
      const k = n.target.spec.pool ?? '';
      let h = heaps.get(k);
      if (!h) heaps.set(k, (h = new Heap((a, b) => (prio.get(b)! - prio.get(a)!) || a.index - b.index)));
      return h;
    };
    for (const n of nodes) {
      let c = 0;
      for (const p of n.preds) if (inSet.has(p)) c++;
      waiting.set(n, c);
      if (c === 0) heapFor(n).push(n);
    }

    let running = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));

    const finish = (n: Node, res: TargetResult, o: Outcome, extra: { logTail?: string[] } = {}): void => {
      results[n.name] = res;
      outcomes.set(n, o);
      finished++;
      emit({ type: 'target-done', name: n.name, ...res, ...extra, finished, total });
      for (const s of n.succs) {
        if (!inSet.has(s)) continue;
        const c = waiting.get(s)! - 1;
        waiting.set(s, c);
        if (c === 0) heapFor(s).push(s);
      }
    };

    const pick = (): Node | undefined => {
      let best: Heap | undefined;
      for (const [pool, h] of heaps) {
        if (!h.size) continue;
        if (pool && (poolUse.get(pool) ?? 0) >= graph.pools.get(pool)!) continue;
        if (!best || prio.get(h.peek()!)! > prio.get(best.peek()!)!) best = h;
      }
      return best?.pop();
    };

    const process1 = async (n: Node): Promise<void> => {
      const sp = n.target.spec;
      const tStart = performance.now();
      // A failed/skipped dependency, or a stopped build, means this one is not attempted.
      for (const p of n.preds) {
        const o = outcomes.get(p);
        if (o && (o.status === 'failed' || o.status === 'skipped')) {
          finish(n, { status: 'skipped', durationMs: 0, reason: `dependency ${p.name} ${o.status === 'failed' ? 'failed' : 'was skipped'}` }, { status: 'skipped' });
          return;
        }
      }
      if (signal.aborted || stop) {
        finish(n, { status: 'skipped', durationMs: 0, reason: signal.aborted ? 'interrupted' : 'build stopped after a failure' }, { status: 'skipped' });
        return;
      }
      const deps = depDigestsOf(n, (d) => outcomes.get(d));
      if (typeof deps === 'string') {
        // Only in a dry run: a dependency would rebuild, so its output is unknown.
        finish(n, { status: 'would-build', durationMs: 0, reason: `dependency ${deps} would rebuild` }, { status: 'would-build' });
        return;
      }
      let reason: string;
      let key: Keyed;
      let fastText: string;
      let racy: RacyCheck;
      try {
        const c = await check(n, deps, probeCtx);
        if (c.fresh) {
          finish(n, { status: 'cached', durationMs: performance.now() - tStart }, { status: 'cached', outputDigest: c.rec.outputDigest, output: c.rec.output });
          return;
        }
        key = c.key;
        reason = c.reason;
        fastText = c.fast;
        racy = c.racy;
      } catch (e) {
        fail(n, tStart, e, 'checking', []);
        return;
      }
      if (dryRun) {
        finish(n, { status: 'would-build', durationMs: 0, reason }, { status: 'would-build' });
        return;
      }
      if (signal.aborted) {
        finish(n, { status: 'skipped', durationMs: 0, reason: 'interrupted' }, { status: 'skipped' });
        return;
      }
      started++;
      emit({ type: 'target-start', name: n.name, reason, index: started, total });
      const lp = logPath(n.name);
      const tlog = new TargetLog(lp);
      const log = (line: string): void => {
        tlog.write(line);
        emit({ type: 'target-output', name: n.name, line });
      };
      const depOutputs: Record<string, unknown> = {};
      for (const [k, d] of n.deps) depOutputs[k] = outcomes.get(d)!.output;
      const prev = st.records.get(n.name)?.output;
      const ctx: RunContext<Record<string, unknown>> = {
        name: n.name,
        deps: depOutputs,
        root,
        stateDir,
        cacheDir,
        key: key.hash,
        signal,
        previous: prev,
        log,
        phase: (text) => emit({ type: 'target-phase', name: n.name, text }),
        exec: (cmd: string, args: string[], o: ExecOptions = {}) => {
          log(`$ ${shellQuote([cmd, ...args])}`);
          return exec(cmd, args, {
            cwd: root,
            killGraceMs: opts.killGraceMs ?? 3000,
            ...o,
            signal: o.signal ?? signal,
            onLine: (line, stream) => {
              log(line);
              o.onLine?.(line, stream);
            },
          });
        },
      };
      log(`# ${n.name}: ${reason}`);
      try {
        const out = await sp.run(ctx as never);
        if (signal.aborted) throw new PharosError('interrupted', { exitCode: 130 });
        // The JSON round trip makes a fresh output identical to one read back from the record.
        const json = out === undefined ? 'null' : stableJson(out);
        const value: unknown = JSON.parse(json);
        const files: Record<string, string> = {};
        let outText = '';
        const outRacy = new RacyCheck();
        for (const p of sp.outputFiles?.(value as never) ?? []) {
          if (Object.hasOwn(files, p)) continue;
          const fst = statStamp(p);
          if (fst?.isDir) {
            throw new PharosError(`${n.name} declared output ${p}, which is a directory; outputs must be files`, {
              hint: 'list the files inside it in outputFiles (or pack the directory into one file)',
            });
          }
          let d = digestStat(st.stamps, p, fst);
          if (typeof d !== 'string') d = await d;
          if (d === MISSING) throw new PharosError(`${n.name} declared output ${p} but did not produce it`);
          files[p] = d;
          outText += `${p}\0${outRacy.see(fst!.stamp)}\n`;
        }
        const outputDigest = digestString(`${json}\0${stableJson(files)}`);
        const durationMs = performance.now() - tStart;
        if (signal.aborted) throw new PharosError('interrupted', { exitCode: 130 });
        tlog.close();
        if (tlog.error) throw tlog.error;
        st.putRecord(n.name, key.json, {
          keyHash: key.hash,
          output: value,
          outputDigest,
          outputFiles: files,
          durationMs,
          builtAt: new Date().toISOString(),
          fast: racy.racy || outRacy.racy ? undefined : fingerprint(fastText, outText),
        });
        runMs.set(n, durationMs);
        finish(n, { status: 'built', durationMs, reason, logPath: lp }, { status: 'built', outputDigest, output: value });
      } catch (e) {
        runMs.set(n, performance.now() - tStart);
        fail(n, tStart, tlog.error ?? e, 'running', tlog.tail, log, lp);
        tlog.close();
      }
    };

    function fail(n: Node, tStart: number, e: unknown, what: string, tail: string[], log?: (l: string) => void, lp?: string): void {
      const msg = isPharosError(e) ? formatError(e).replace(/^error: /, '') : e instanceof Error ? (e.stack ?? e.message) : String(e);
      if (log) for (const l of msg.split('\n')) log(l);
      const interrupted = signal.aborted;
      if (!opts.keepGoing) stop = true;
      failed = true;
      finish(
        n,
        { status: 'failed', durationMs: performance.now() - tStart, reason: interrupted ? 'interrupted' : `failed while ${what}`, error: msg.split('\n')[0], logPath: lp },
        { status: 'failed' },
        { logTail: interrupted ? [] : tail },
      );
    }

    const pump = (): void => {
      while (running < jobs) {
        const n = pick();
        if (!n) break;
        running++;
        const pool = n.target.spec.pool;
        if (pool) poolUse.set(pool, (poolUse.get(pool) ?? 0) + 1);
        void process1(n)
          .catch((e: unknown) => {
            if (!results[n.name]) fail(n, performance.now(), e, 'running', []);
          })
          .finally(() => {
            running--;
            if (pool) poolUse.set(pool, poolUse.get(pool)! - 1);
            pump();
          });
      }
      if (running === 0 && finished + [...heaps.values()].reduce((a, h) => a + h.size, 0) >= total) {
        // Anything left in heaps is unreachable only if pick() refused it; drain as skipped.
        let n: Node | undefined;
        for (const h of heaps.values()) while ((n = h.pop())) if (!results[n.name]) finish(n, { status: 'skipped', durationMs: 0, reason: 'build stopped' }, { status: 'skipped' });
        if (finished >= total) resolveDone();
      }
    };
    const onAbort = (): void => pump();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      pump();
      if (total === 0) resolveDone();
      await done;
    } finally {
      for (const o of outer) o.removeEventListener('abort', onOuterAbort);
      signal.removeEventListener('abort', onAbort);
      if (!dryRun) {
        try {
          ledger?.close();
          st.save();
        } finally {
          release();
        }
      }
    }

    // Critical path over this run's durations.
    const best = new Map<Node, { ms: number; prev?: Node }>();
    let end: Node | undefined;
    for (const n of nodes) {
      let b: { ms: number; prev?: Node } = { ms: 0 };
      for (const p of n.preds) {
        const x = best.get(p);
        if (x && x.ms > b.ms) b = { ms: x.ms, prev: p };
      }
      const cur = { ms: b.ms + (runMs.get(n) ?? 0), prev: b.prev };
      best.set(n, cur);
      if (!end || cur.ms > best.get(end)!.ms) end = n;
    }
    const path: string[] = [];
    for (let c = end; c && (best.get(c)?.ms ?? 0) > 0; c = best.get(c)!.prev) if (runMs.has(c)) path.unshift(c.name);
    const counts: Record<TargetStatus, number> = { built: 0, cached: 0, failed: 0, skipped: 0, 'would-build': 0 };
    for (const r of Object.values(results)) counts[r.status]++;
    const summary: BuildSummary = {
      ok: !failed && !signal.aborted,
      interrupted: signal.aborted,
      dryRun,
      requested: roots.map((r) => r.name),
      wallMs: performance.now() - t0,
      counts,
      targets: results,
      criticalPath: { targets: path, durationMs: end ? best.get(end)!.ms : 0 },
      hashed: { files: hashStats.files - hash0.files, bytes: hashStats.bytes - hash0.bytes },
    };
    emit({ type: 'build-done', summary });
    return summary;
  };

  // ---- explain / states -----------------------------------------------------
  /** Freshness of each node of a closure without running: deps use their recorded outputs. */
  const assess = async (nodes: Node[]): Promise<Map<Node, { fresh: boolean; reason: string; own?: string }>> => {
    const out = new Map<Node, { fresh: boolean; reason: string; own?: string }>();
    const probeCtx = makeProbeCtx(new AbortController().signal);
    const st = getStore();
    for (const n of nodes) {
      const deps: Record<string, string> = {};
      for (const d of n.deps.values()) deps[d.name] = st.records.get(d.name)?.outputDigest ?? 'never built';
      let own: string | undefined;
      try {
        const c = await check(n, deps, probeCtx);
        own = c.fresh ? undefined : c.reason;
      } catch (e) {
        own = `cannot check: ${e instanceof Error ? e.message : String(e)}`;
      }
      const dirtyDep = n.preds.find((p) => out.get(p)?.fresh === false);
      if (own) out.set(n, { fresh: false, reason: own, own });
      else if (dirtyDep) out.set(n, { fresh: false, reason: `dependency ${dirtyDep.name} is out of date (${out.get(dirtyDep)!.reason})` });
      else out.set(n, { fresh: true, reason: 'up to date' });
    }
    return out;
  };

  const explain = async (name: string): Promise<string> => {
    const [n] = select(graph, [name]);
    if (!n || n.name !== name) throw new PharosError(`why needs one target name, got "${name}"`);
    const res = await assess(closure([n]));
    const r = res.get(n)!;
    if (r.fresh) return `${name}: up to date`;
    const lines = [`${name}: ${r.reason}`];
    if (r.own) {
      const dirty = n.preds.filter((p) => res.get(p)?.fresh === false);
      for (const d of dirty) lines.push(`  also: dependency ${d.name} is out of date (${res.get(d)!.reason})`);
    }
    return lines.join('\n');
  };

  const states = async (selectors?: readonly string[]): Promise<TargetState[]> => {
    const nodes = selectors && selectors.length ? closure(select(graph, selectors)) : graph.nodes;
    const res = await assess(nodes);
    const st = getStore();
    const want = selectors && selectors.length ? new Set(select(graph, selectors)) : undefined;
    const out: TargetState[] = [];
    for (const n of nodes) {
      if (want && !want.has(n)) continue;
      const rec = st.records.get(n.name);
      const r = res.get(n)!;
      if (!rec) out.push({ name: n.name, state: 'never-built', reason: r.reason });
      else if (r.fresh) out.push({ name: n.name, state: 'fresh', builtAt: rec.builtAt, durationMs: rec.durationMs });
      else out.push({ name: n.name, state: 'dirty', reason: r.reason, builtAt: rec.builtAt });
    }
    return out;
  };

  const clean = (selectors?: readonly string[]): { removed: string[]; notes: string[] } => {
    const notes: string[] = [];
    const release = opts.lock !== false ? acquireLock(stateDir, undefined, { onUnreadable: (why) => notes.push(`removed ${join(stateDir, 'lock')}: ${why}`) }) : () => {};
    try {
      // `clean` is the way out of a damaged state: it discards it (every target rebuilds) and says so.
      const opened = openOrDiscard(stateDir);
      notes.push(...opened.notes);
      const st = opened.store;
      c.resetStore(st);
      const names = selectors && selectors.length ? select(graph, selectors).map((n) => n.name) : [...new Set([...st.records.keys(), ...graph.nodes.map((n) => n.name)])];
      const removed: string[] = [];
      for (const name of names) {
        if (st.records.has(name)) removed.push(name);
        st.forget(name);
        const lp = logPath(name);
        io('remove', lp, () => rmSync(lp, { force: true, recursive: true }));
      }
      st.markDirty();
      st.save();
      return { removed, notes };
    } finally {
      release();
    }
  };

  const inputPaths = async (selectors: readonly string[]): Promise<string[]> => {
    const out = new Set<string>();
    for (const n of closure(select(graph, selectors))) {
      await inputs.watchPaths(n.target.spec.inputs ?? [], out);
    }
    return [...out].sort();
  };

  return { graph, root, stateDir, cacheDir, build, explain, states, clean, inputPaths, logPath };
}

/** Binary heap; `cmp(a, b) < 0` puts `a` first. */
class Heap {
  private a: Node[] = [];
  constructor(private readonly cmp: (a: Node, b: Node) => number) {}
  get size(): number {
    return this.a.length;
  }
  peek(): Node | undefined {
    return this.a[0];
  }
  push(n: Node): void {
    const a = this.a;
    a.push(n);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.cmp(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): Node | undefined {
    const a = this.a;
    if (!a.length) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.cmp(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.cmp(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

