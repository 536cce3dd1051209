/** The figures of a finished build's summary: status counts and the critical path of this run. */
import type { Node } from '../graph/graph.js';
import type { BuildSummary, TargetResult, TargetStatus } from './events.js';

export function countByStatus(results: Iterable<TargetResult>): Record<TargetStatus, number> {
  const counts: Record<TargetStatus, number> = { built: 0, cached: 0, failed: 0, skipped: 0, 'would-build': 0, 'may-cut-off': 0 };
  for (const r of results) counts[r.status]++;
  return counts;
}

/** Longest chain of this run's durations (`runMs`: targets that ran) through `nodes`, in dependency order. */
export function criticalPath(nodes: readonly Node[], runMs: ReadonlyMap<Node, number>): BuildSummary['criticalPath'] {
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
  return { targets: path, durationMs: end ? best.get(end)!.ms : 0 };
}
