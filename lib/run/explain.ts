/**
 * `why` and `list` without running anything: the freshness of each target of
 * a closure, in dependency order, with dependencies taken at their recorded
 * outputs. A target is stale for a reason of its own (its check) or because
 * a dependency is; a check that throws makes it stale ("cannot check").
 */
import { PharosError } from '../errors.js';
import { closure, select, type Node } from '../graph/graph.js';
import { check, makeProbeCtx } from './check.js';
import type { DepDigests } from './keys.js';
import type { EngineContext } from './context.js';

export type TargetState =
  | { name: string; state: 'fresh'; builtAt: string; durationMs: number }
  | { name: string; state: 'dirty'; reason: string; builtAt: string }
  | { name: string; state: 'never-built'; reason: string };

/** One target's freshness; `own` is its own reason, when it has one (not only a stale dependency). */
interface Assessed {
  fresh: boolean;
  reason: string;
  own?: string;
}

/** Freshness of each node of a closure without running: deps use their recorded outputs. */
async function assess(c: EngineContext, nodes: readonly Node[]): Promise<Map<Node, Assessed>> {
  const out = new Map<Node, Assessed>();
  const probeCtx = makeProbeCtx(c.root, new AbortController().signal);
  const st = c.store();
  for (const n of nodes) {
    const deps: DepDigests = {};
    for (const d of n.deps.values()) deps[d.name] = st.records.get(d.name)?.outputDigest ?? 'never built';
    let own: string | undefined;
    try {
      const r = await check(c, n, deps, probeCtx);
      own = r.fresh ? undefined : r.reason;
    } catch (e) {
      own = `cannot check: ${e instanceof Error ? e.message : String(e)}`;
    }
    const dirtyDep = n.preds.find((p) => out.get(p)?.fresh === false);
    if (own) out.set(n, { fresh: false, reason: own, own });
    else if (dirtyDep) out.set(n, { fresh: false, reason: `dependency ${dirtyDep.name} is out of date (${out.get(dirtyDep)!.reason})` });
    else out.set(n, { fresh: true, reason: 'up to date' });
  }
  return out;
}

/** The `why` text of one target. */
export async function explain(c: EngineContext, name: string): Promise<string> {
  const [n] = select(c.graph, [name]);
  if (!n || n.name !== name) throw new PharosError(`why needs one target name, got "${name}"`);
  const res = await assess(c, closure([n]));
  const r = res.get(n)!;
  if (r.fresh) return `${name}: up to date`;
  const lines = [`${name}: ${r.reason}`];
  if (r.own) {
    const dirty = n.preds.filter((p) => res.get(p)?.fresh === false);
    for (const d of dirty) lines.push(`  also: dependency ${d.name} is out of date (${res.get(d)!.reason})`);
  }
  return lines.join('\n');
}

/** fresh / dirty / never-built of every (or the selected) target. */
export async function states(c: EngineContext, selectors?: readonly string[]): Promise<TargetState[]> {
  const graph = c.graph;
  const nodes = selectors && selectors.length ? closure(select(graph, selectors)) : graph.nodes;
  const res = await assess(c, nodes);
  const st = c.store();
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
}
