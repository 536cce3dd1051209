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
import { join } from 'node:path';
import { PharosError } from '../errors.js';
import { closure, select, type Graph, type Node } from '../graph/graph.js';
import type { ProbeContext } from '../graph/target.js';
import { acquireLock } from '../cache/lock.js';
import { openOrDiscard } from '../cache/recover.js';
import { io } from '../cache/ioerror.js';
import { EngineContext, type EngineOptions } from './context.js';
import { check as checkTarget, makeProbeCtx as makeProbeContext, type Check } from './check.js';
import type { DepDigests } from './keys.js';
import { build as runBuild } from './build.js';
import type { BuildSummary } from './events.js';

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

export function createEngine(opts: EngineOptions): Engine {
  const c = new EngineContext(opts);
  const { root, stateDir, cacheDir, graph, logPath, inputs } = c;
  const getStore = c.store;
  const check = (n: Node, deps: DepDigests, probeCtx: ProbeContext): Promise<Check> => checkTarget(c, n, deps, probeCtx);
  const makeProbeCtx = (signal: AbortSignal): ProbeContext => makeProbeContext(root, signal);

  const build = (selectors: readonly string[], bo: { signal?: AbortSignal } = {}): Promise<BuildSummary> => runBuild(c, selectors, bo);

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
