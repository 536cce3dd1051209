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
import { join, resolve } from 'node:path';
import { PharosError, formatError, isPharosError } from '../errors.js';
import { exec, shellQuote, type ExecOptions } from '../tools/exec.js';
import { buildGraph, closure, select, type Graph, type Node } from '../graph/graph.js';
import { toolName, type GraphDefinition, type ProbeContext, type RunContext } from '../graph/target.js';
import { DIRECTORY, MISSING, digestFile, digestStat, digestString, hashStats, stampOnly, statStamp } from '../cache/hash.js';
import { explainKeyChange, keyToJson, stableJson, type CacheKey } from '../cache/key.js';
import { acquireLock } from '../cache/lock.js';
import { StateStore, type TargetRecord } from '../cache/state.js';
import { openOrDiscard } from '../cache/recover.js';
import { RacyCheck } from '../cache/racy.js';
import { Inputs } from './inputs.js';
import { toolVersion } from './tool-versions.js';
import { Statics, type Static } from './definition.js';
import { io } from '../cache/ioerror.js';
import { GroupLedger, endLeftovers } from './groups.js';
import { TargetLog } from './targetlog.js';
import type { BuildEvent, BuildSummary, Reporter, TargetResult, TargetStatus } from './events.js';

export interface EngineOptions {
  /** Project root: inputs are relative to it. */
  root: string;
  definition: GraphDefinition;
  /** Default `<root>/.pharos`. */
  stateDir?: string;
  /** Default `$PHAROS_CACHE` or `~/.cache/pharos`. */
  cacheDir?: string;
  /** Max targets running at once (default: number of CPUs). */
  jobs?: number;
  /** Keep starting independent targets after a failure. */
  keepGoing?: boolean;
  /** Report what would run and why; run nothing, record nothing. */
  dryRun?: boolean;
  reporter?: Reporter | Reporter[];
  /** Abort = Ctrl-C: running targets see it, nothing more starts, nothing is recorded after it. */
  signal?: AbortSignal;
  /** Environment used for `env` keys (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Take `.pharos/lock` for builds (default true). */
  lock?: boolean;
  /** Milliseconds between SIGTERM and SIGKILL for `ctx.exec` children on abort (default 3000). */
  killGraceMs?: number;
}

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
import { defaultCacheDir } from '../cache/dir.js';

/** `image:hpc/x` -> `image_hpc_x`: log file names safe on any filesystem. */
export function sanitizeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

interface Outcome {
  status: TargetStatus;
  outputDigest?: string;
  output?: unknown;
  reason?: string;
}

/** A key with its stable JSON and digest, computed once per check. */
interface Keyed {
  key: CacheKey;
  json: string;
  hash: string;
}

type Check = { fresh: true; rec: TargetRecord } | { fresh: false; key: Keyed; reason: string; fast: string; racy: RacyCheck };

/** The stat-only half of a check: input files and the text of the stamp fingerprint. */
interface Gathered {
  /** Input files: absolute path and name relative to the root (parallel arrays: no object per file). */
  abs: string[];
  rel: string[];
  /** Everything the key is made of except input contents, which are (path, stamp) here. */
  text: string;
  envv: Record<string, string | null>;
  tools: Record<string, string>;
  /** Whether some stamp was racy (then the fingerprint is not recorded: the next check hashes). */
  racy: RacyCheck;
}

export function createEngine(opts: EngineOptions): Engine {
  const root = resolve(opts.root);
  const stateDir = opts.stateDir ?? join(root, '.pharos');
  const cacheDir = opts.cacheDir ?? defaultCacheDir(opts.env);
  const env = opts.env ?? process.env;
  const graph = buildGraph(opts.definition);
  const reporters = opts.reporter === undefined ? [] : Array.isArray(opts.reporter) ? opts.reporter : [opts.reporter];
  const emit = (e: BuildEvent): void => {
    for (const r of reporters) r.event(e);
  };
  const logsDir = join(stateDir, 'logs');
  const logPath = (name: string): string => join(logsDir, `${sanitizeName(name)}.log`);
  let store: StateStore | undefined;
  const getStore = (): StateStore => (store ??= new StateStore(stateDir));
  const statics = new Statics();
  const staticOf = (n: Node): Static => statics.of(n);
  const inputs = new Inputs(root);

  // ---- keys and checks -----------------------------------------------------
  /**
   * Expands inputs and stats every file, and builds the stamp fingerprint
   * text: definition, params, dependency output digests, env, tools, and each
   * input as (path, stamp). Equal fingerprint = equal key (a file whose stamp
   * did not change keeps its recorded digest: the stat fast path), decided
   * without the stamp table or any hashing of keys.
   */
  const gather = async (n: Node, depDigests: Record<string, string>): Promise<Gathered> => {
    const sp = n.target.spec;
    const s = staticOf(n);
    const rc = new RacyCheck();
    let text = `${s.defJson}\n${s.params}\n`;
    for (const d in depDigests) text += `${d}\0${depDigests[d]}\n`;
    const files = await inputs.collect(sp.inputs ?? [], rc);
    text += files.text;
    const envv: Record<string, string | null> = {};
    for (const e of sp.env ?? []) {
      const v = env[e] ?? null;
      envv[e] = v;
      text += `$${e}\0${v === null ? '\u0001' : v}\n`;
    }
    const tools: Record<string, string> = {};
    for (const t of sp.tools ?? []) {
      const v = await toolVersion(t, n.name, env, getStore);
      tools[toolName(t)] = v;
      text += `!${toolName(t)}\0${v}\n`;
    }
    return { abs: files.abs, rel: files.rel, text, envv, tools, racy: rc };
  };

  /** The full key: input contents from the stamp table, hashing what changed. */
  const computeKey = async (n: Node, depDigests: Record<string, string>, g: Gathered): Promise<CacheKey> => {
    const s = staticOf(n);
    const db = getStore().stamps;
    const inputs: Record<string, string> = {};
    // Stat again: the digest must describe the file as read now (a newer stamp than the
    // fingerprint's only sends the next check down this path again).
    for (let i = 0; i < g.abs.length; i++) {
      let d = digestStat(db, g.abs[i]!, statStamp(g.abs[i]!));
      if (typeof d !== 'string') d = await d;
      inputs[g.rel[i]!] = d;
    }
    s.definition ??= digestString(s.defJson);
    return { name: n.name, definition: s.definition, params: s.params, inputs, deps: depDigests, env: g.envv, tools: g.tools };
  };

  /** (path, stamp) of output files, the output half of the fingerprint. */
  const outputStamps = (paths: Iterable<string>, rc: RacyCheck): string => {
    let t = '';
    for (const p of paths) t += `${p}\0${rc.see(stampOnly(p)) ?? MISSING}\n`;
    return t;
  };

  const fingerprint = (inputsText: string, outputsText: string): string => digestString(`${inputsText}\u0002\n${outputsText}`);

  const check = async (n: Node, depDigests: Record<string, string>, probeCtx: ProbeContext): Promise<Check> => {
    const g = await gather(n, depDigests);
    const sp = n.target.spec;
    const store = getStore();
    const rec = store.records.get(n.name);
    const outText = rec ? outputStamps(Object.keys(rec.outputFiles), g.racy) : '';
    const fast = fingerprint(g.text, outText);
    const slow = async (): Promise<Check> => {
      const k = await computeKey(n, depDigests, g);
      const json = keyToJson(k);
      const key: Keyed = { key: k, json, hash: digestString(json) };
      const stale = (reason: string): Check => ({ fresh: false, key, reason, fast: g.text, racy: g.racy });
      if (!rec) return stale('never built');
      if (rec.keyHash !== key.hash) {
        const old = store.keyOf(n.name);
        return stale((old && explainKeyChange(old, k)) ?? 'key changed (the recorded key is unavailable)');
      }
      if (sp.always) return stale('always runs');
      const db = store.stamps;
      for (const [p, d] of Object.entries(rec.outputFiles)) {
        let now = digestFile(db, p);
        if (typeof now !== 'string') now = await now;
        if (now === MISSING) return stale(`output ${p} is missing`);
        if (now === DIRECTORY) return stale(`output ${p} is a directory`);
        if (now !== d) return stale(`output ${p} changed since it was built`);
      }
      // Same key and outputs, new stamps (a touch, a copy): remember them so the next check is stat-only
      // (unless a stamp is racy: then the next check hashes again).
      const trusted = g.racy.racy ? undefined : fast;
      if (rec.fast !== trusted) {
        rec.fast = trusted;
        store.markDirty();
      }
      return { fresh: true, rec };
    };
    const c = rec && rec.fast === fast ? (sp.always ? await slow() : ({ fresh: true, rec } as Check)) : await slow();
    if (!c.fresh) return c;
    if (sp.probe) {
      const r = await sp.probe(c.rec.output, probeCtx);
      if (r !== true) return { fresh: false, key: await keyedFor(n, depDigests, g), reason: `probe: ${r}`, fast: g.text, racy: g.racy };
    }
    return c;
  };

  /** The key of a target whose stamp fingerprint matched (needed only when it runs anyway, e.g. a probe said stale). */
  const keyedFor = async (n: Node, depDigests: Record<string, string>, g: Gathered): Promise<Keyed> => {
    const k = await computeKey(n, depDigests, g);
    const json = keyToJson(k);
    return { key: k, json, hash: digestString(json) };
  };

  const makeProbeCtx = (signal: AbortSignal): ProbeContext => {
    const memo = new Map<string, Promise<unknown>>();
    return {
      root,
      signal,
      once<T>(k: string, fn: () => Promise<T>): Promise<T> {
        let p = memo.get(k) as Promise<T> | undefined;
        if (!p) {
          p = fn();
          memo.set(k, p);
        }
        return p;
      },
    };
  };

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
      store = undefined;
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
      const st = (store = opened.store);
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

