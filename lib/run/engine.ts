/**
 * The engine: one `Engine` wraps one checked graph and one state directory;
 * `build()` runs the selected targets and their closure, `explain()`/
 * `states()` answer `why` and `list` without running anything. This file is
 * the wiring; the parts, each in a file of its own:
 *
 * - context.ts: options, paths, graph, event sink, state store of one engine;
 * - inputs.ts: pattern expansion, directory walks, ignored directories;
 * - tool-versions.ts: tool lookup on PATH and version lines;
 * - definition.ts, keys.ts: definition text, stamp fingerprint, full key;
 * - check.ts: is a target up to date, and if not, why;
 * - schedule.ts: critical-path priorities, pools, the ready queue;
 * - build.ts, run-target.ts, summary.ts: the build loop, one target's run
 *   and record, the summary;
 * - explain.ts, clean.ts: `why`/`list`, `clean`.
 */
import { closure, select, type Graph } from '../graph/graph.js';
import { EngineContext, type EngineOptions } from './context.js';
import { build } from './build.js';
import { explain, states, type TargetState } from './explain.js';
import { clean } from './clean.js';
import type { BuildSummary } from './events.js';

export { defaultCacheDir } from '../cache/dir.js';
export { definitionJson, definitionJsonSlow } from './definition.js';
export { plainPath } from './inputs.js';
export { sanitizeName, type EngineOptions } from './context.js';
export type { TargetState } from './explain.js';

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

export function createEngine(opts: EngineOptions): Engine {
  const c = new EngineContext(opts);
  return {
    graph: c.graph,
    root: c.root,
    stateDir: c.stateDir,
    cacheDir: c.cacheDir,
    build: (selectors, o) => build(c, selectors, o),
    explain: (name) => explain(c, name),
    states: (selectors) => states(c, selectors),
    clean: (selectors) => clean(c, selectors),
    inputPaths: async (selectors) => {
      const out = new Set<string>();
      for (const n of closure(select(c.graph, selectors))) await c.inputs.watchPaths(n.target.spec.inputs ?? [], out);
      return [...out].sort();
    },
    logPath: c.logPath,
  };
}
