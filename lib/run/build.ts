/**
 * One build (the Builder): takes the lock and re-reads the state under it,
 * then starts ready targets in plan order, at most `-j` at once. Each is
 * checked and, if stale, run (run-target.ts); a dry run stops at the check:
 * a target is `would-build` when it is stale whatever its dependencies'
 * outputs turn out to be, `may-cut-off` when it is up to date if the
 * dependencies that would rebuild give the outputs it was built with.
 * A target is not attempted (skipped) after a failed or skipped dependency,
 * after a failure without keepGoing, or after an abort. Abort = Ctrl-C:
 * running targets see the signal, nothing more starts, nothing finishing
 * after it is recorded. The state is saved once, at the end.
 */
import { cpus } from 'node:os';
import { formatError, isPharosError, UnavailableError } from '../errors.js';
import { closure, select, type Node } from '../graph/graph.js';
import type { ProbeContext } from '../graph/target.js';
import { hashStats } from '../cache/hash.js';
import { acquireLock } from '../cache/lock.js';
import type { StateStore } from '../cache/state.js';
import { GroupLedger, endLeftovers } from './groups.js';
import { check, makeProbeCtx, type Check } from './check.js';
import type { DepDigests } from './keys.js';
import { Plan } from './schedule.js';
import { runTarget, type TargetHost } from './run-target.js';
import { countByStatus, criticalPath } from './summary.js';
import type { EngineContext } from './context.js';
import { failText, skipText, type BuildSummary, type FailReason, type SkipReason, type TargetResult } from './events.js';

export async function build(c: EngineContext, selectors: readonly string[], bo: { signal?: AbortSignal } = {}): Promise<BuildSummary> {
  const { opts, stateDir, emit } = c;
  const t0 = performance.now();
  const roots = select(c.graph, selectors);
  const nodes = closure(roots);
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
    c.inputs.forgetGlobs();
    st = c.store();
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
  emit({ type: 'build-start', total: nodes.length, jobs, dryRun, requested: roots.map((r) => r.name) });
  const run = new BuildRun(c, st, nodes, signal, jobs, dryRun);
  const onAbort = (): void => run.pump();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await run.whole();
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
  const path = criticalPath(nodes, run.runMs);
  const results = run.results();
  const summary: BuildSummary = {
    ok: !run.failed && !signal.aborted,
    interrupted: signal.aborted,
    dryRun,
    requested: roots.map((r) => r.name),
    wallMs: performance.now() - t0,
    counts: countByStatus(Object.values(results)),
    targets: results,
    criticalPath: path,
    hashed: { files: hashStats.files - hash0.files, bytes: hashStats.bytes - hash0.bytes },
  };
  emit({ type: 'build-done', summary });
  return summary;
}

/** How a target of this build ended: its result, and (built or cached) what its dependents key on and get. */
interface Finished {
  result: TargetResult;
  outputDigest?: string;
  output?: unknown;
}

/** The targets of one build from start to finish: what runs, what ended how. */
class BuildRun implements TargetHost {
  /** Run time of each target that ran (for the critical path). */
  readonly runMs = new Map<Node, number>();
  failed = false;
  private readonly ended = new Map<Node, Finished>();
  private readonly plan: Plan;
  private readonly probeCtx: ProbeContext;
  private readonly total: number;
  private finishedCount = 0;
  private started = 0;
  private running = 0;
  private stop = false;
  private resolveDone!: () => void;
  private readonly done = new Promise<void>((r) => (this.resolveDone = r));

  constructor(
    readonly c: EngineContext,
    readonly st: StateStore,
    nodes: readonly Node[],
    readonly signal: AbortSignal,
    private readonly jobs: number,
    private readonly dryRun: boolean,
  ) {
    this.probeCtx = makeProbeCtx(c.root, signal);
    this.total = nodes.length;
    this.plan = new Plan(nodes, st.durations, c.graph.pools);
  }

  /** Runs until every target has ended. */
  async whole(): Promise<void> {
    this.pump();
    if (this.total === 0) this.resolveDone();
    await this.done;
  }

  /** Each target's result, in the order they ended. */
  results(): Record<string, TargetResult> {
    const out: Record<string, TargetResult> = {};
    for (const [n, f] of this.ended) out[n.name] = f.result;
    return out;
  }

  /** Starts what the plan and `-j` allow; ends the build when nothing runs and nothing can start. */
  pump(): void {
    while (this.running < this.jobs) {
      const n = this.plan.pick();
      if (!n) break;
      this.running++;
      this.plan.started(n);
      void this.visit(n)
        .catch((e: unknown) => {
          if (!this.ended.has(n)) this.fail(n, performance.now(), e, 'running', []);
        })
        .finally(() => {
          this.running--;
          this.plan.stopped(n);
          this.pump();
        });
    }
    if (this.running === 0 && this.finishedCount + this.plan.queued >= this.total) {
      // Anything still queued is there only because pick() refused it; it ends as skipped.
      for (const n of this.plan.drain()) if (!this.ended.has(n)) this.skip(n, { kind: 'build-stopped' });
      if (this.finishedCount >= this.total) this.resolveDone();
    }
  }

  private finish(n: Node, res: TargetResult, out: { outputDigest?: string; output?: unknown } = {}, extra: { logTail?: string[] } = {}): void {
    this.ended.set(n, { result: res, ...out });
    this.finishedCount++;
    this.c.emit({ type: 'target-done', name: n.name, ...res, ...extra, finished: this.finishedCount, total: this.total });
    this.plan.finished(n);
  }

  private skip(n: Node, why: SkipReason): void {
    this.finish(n, { status: 'skipped', durationMs: 0, reason: skipText(why), skip: why });
  }

  private fail(n: Node, tStart: number, e: unknown, what: 'checking' | 'running', tail: string[], log?: (l: string) => void, lp?: string): void {
    const msg = isPharosError(e) ? formatError(e).replace(/^error: /, '') : e instanceof Error ? (e.stack ?? e.message) : String(e);
    if (log) for (const l of msg.split('\n')) log(l);
    const why: FailReason = this.signal.aborted
      ? { kind: 'interrupted' }
      : e instanceof UnavailableError
        ? { kind: 'unavailable', what: e.what }
        : { kind: 'error', while: what };
    if (!this.c.opts.keepGoing) this.stop = true;
    this.failed = true;
    this.finish(
      n,
      { status: 'failed', durationMs: performance.now() - tStart, reason: failText(why), fail: why, error: msg.split('\n')[0], logPath: lp },
      {},
      { logTail: why.kind === 'interrupted' ? [] : tail },
    );
  }

  recorded(n: Node, durationMs: number, reason: string, logPath: string, outputDigest: string, output: unknown): void {
    this.runMs.set(n, durationMs);
    this.finish(n, { status: 'built', durationMs, reason, logPath }, { outputDigest, output });
  }

  runFailed(n: Node, tStart: number, e: unknown, tail: string[], log: (line: string) => void, logPath: string): void {
    this.runMs.set(n, performance.now() - tStart);
    this.fail(n, tStart, e, 'running', tail, log, logPath);
  }

  /**
   * Output digests of `n`'s dependencies. In a dry run a dependency that would
   * rebuild has no output yet: it is taken at the digest `n` was last built
   * with (the early-cutoff case: it comes out the same), and named in `unsure`.
   */
  private depDigests(n: Node): { deps: DepDigests; unsure: string[] } {
    const deps: DepDigests = {};
    const unsure: string[] = [];
    let seen: DepDigests | undefined;
    for (const d of n.deps.values()) {
      const o = this.ended.get(d);
      if (o && o.outputDigest !== undefined) deps[d.name] = o.outputDigest;
      else {
        seen ??= this.st.keyOf(n.name)?.deps ?? {};
        deps[d.name] = seen[d.name] ?? this.st.records.get(d.name)?.outputDigest ?? 'never built';
        unsure.push(d.name);
      }
    }
    return { deps, unsure };
  }

  /** One target: not attempted, cached, would build (dry run), or run. */
  private async visit(n: Node): Promise<void> {
    const tStart = performance.now();
    // A failed/skipped dependency, or a stopped build, means this one is not attempted.
    for (const p of n.preds) {
      const s = this.ended.get(p)?.result.status;
      if (s === 'failed' || s === 'skipped') {
        this.skip(n, { kind: 'dependency', dependency: p.name, status: s });
        return;
      }
    }
    if (this.signal.aborted || this.stop) {
      this.skip(n, this.signal.aborted ? { kind: 'interrupted' } : { kind: 'stopped-after-failure' });
      return;
    }
    // `unsure` only in a dry run: dependencies that would rebuild (their outputs are not known yet).
    const { deps, unsure } = this.depDigests(n);
    let r: Check;
    try {
      r = await check(this.c, n, deps, this.probeCtx);
      if (r.fresh && unsure.length) {
        // Up to date if those outputs come out as this target last saw them; else it runs.
        const reason = `${unsure.length > 1 ? 'dependencies' : 'dependency'} ${unsure.join(', ')} would rebuild; up to date if ${unsure.length > 1 ? 'their outputs come' : 'its output comes'} out the same`;
        this.finish(n, { status: 'may-cut-off', durationMs: 0, reason });
        return;
      }
      if (r.fresh) {
        this.finish(n, { status: 'cached', durationMs: performance.now() - tStart }, { outputDigest: r.rec.outputDigest, output: r.rec.output });
        return;
      }
    } catch (e) {
      this.fail(n, tStart, e, 'checking', []);
      return;
    }
    if (this.dryRun) {
      this.finish(n, { status: 'would-build', durationMs: 0, reason: r.reason });
      return;
    }
    if (this.signal.aborted) {
      this.skip(n, { kind: 'interrupted' });
      return;
    }
    this.started++;
    this.c.emit({ type: 'target-start', name: n.name, reason: r.reason, index: this.started, total: this.total });
    const depOutputs: Record<string, unknown> = {};
    for (const [k, d] of n.deps) depOutputs[k] = this.ended.get(d)!.output;
    await runTarget(this, { n, key: r.key, reason: r.reason, fastText: r.fast, racy: r.racy, tStart, deps: depOutputs });
  }
}
