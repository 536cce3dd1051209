/**
 * The plan of one build (Ninja's Plan): which targets are ready, and which
 * starts next. List scheduling, critical-path first: each target's priority is
 * its recorded duration (unknown: 1 ms, so order follows depth) plus the
 * largest priority among the targets of the build waiting on it, so long
 * chains start early. Ready targets wait in one heap per pool; a pool's heap
 * is passed over while the pool is full. `-j` is the caller's bound.
 */
import type { Node } from '../graph/graph.js';

export class Plan {
  private readonly inSet: Set<Node>;
  private readonly prio = new Map<Node, number>();
  /** Unfinished dependencies (within the build) of each target. */
  private readonly waiting = new Map<Node, number>();
  private readonly poolUse = new Map<string, number>();
  /** Ready targets by pool ('' = no pool). */
  private readonly heaps = new Map<string, Heap>();

  /** `nodes` in dependency order (a closure); `durations` by target name; `pools` the pool sizes. */
  constructor(
    nodes: readonly Node[],
    durations: ReadonlyMap<string, number>,
    private readonly pools: ReadonlyMap<string, number>,
  ) {
    this.inSet = new Set(nodes);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i]!;
      let best = 0;
      for (const s of n.succs) if (this.inSet.has(s)) best = Math.max(best, this.prio.get(s) ?? 0);
      this.prio.set(n, (durations.get(n.name) ?? 1) + best);
    }
    for (const n of nodes) {
      let c = 0;
      for (const p of n.preds) if (this.inSet.has(p)) c++;
      this.waiting.set(n, c);
      if (c === 0) this.heapFor(n).push(n);
    }
  }

  private heapFor(n: Node): Heap {
    const k = n.target.spec.pool ?? '';
    let h = this.heaps.get(k);
    if (!h) this.heaps.set(k, (h = new Heap((a, b) => this.prio.get(b)! - this.prio.get(a)! || a.index - b.index)));
    return h;
  }

  /** The ready target of highest priority whose pool has room, taken off the queue (none: all wait). */
  pick(): Node | undefined {
    let best: Heap | undefined;
    for (const [pool, h] of this.heaps) {
      if (!h.size) continue;
      if (pool && (this.poolUse.get(pool) ?? 0) >= this.pools.get(pool)!) continue;
      if (!best || this.prio.get(h.peek()!)! > this.prio.get(best.peek()!)!) best = h;
    }
    return best?.pop();
  }

  /** `n` runs: it takes a place in its pool. */
  started(n: Node): void {
    const pool = n.target.spec.pool;
    if (pool) this.poolUse.set(pool, (this.poolUse.get(pool) ?? 0) + 1);
  }

  /** `n` no longer runs: its pool place is free. */
  stopped(n: Node): void {
    const pool = n.target.spec.pool;
    if (pool) this.poolUse.set(pool, this.poolUse.get(pool)! - 1);
  }

  /** `n` finished (in any way): successors with no unfinished dependency left become ready. */
  finished(n: Node): void {
    for (const s of n.succs) {
      if (!this.inSet.has(s)) continue;
      const c = this.waiting.get(s)! - 1;
      this.waiting.set(s, c);
      if (c === 0) this.heapFor(s).push(s);
    }
  }

  /** How many ready targets are queued. */
  get queued(): number {
    let q = 0;
    for (const h of this.heaps.values()) q += h.size;
    return q;
  }

  /** Takes every queued target off, including those that become ready while this runs. */
  *drain(): Generator<Node> {
    let n: Node | undefined;
    for (const h of this.heaps.values()) while ((n = h.pop())) yield n;
  }
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
