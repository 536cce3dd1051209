/**
 * What `pharos test e2e` makes of targets that failed only because something
 * outside this machine cannot be reached (the engine's `unavailable` failure
 * kind: a vendor package repository, say, on a machine without that network).
 *
 * Such a build still counts as good when nothing else failed, and every suite
 * skipped because of it is reported as skipped, check by check, with the
 * reason — never as passed, and never silently missing from the report.
 */
import type { BuildSummary, TargetResult } from '../run/events.js';
import type { SuiteDef } from '../suites/suite.js';
import type { SuiteResult } from '../suites/run.js';

export interface UnavailableSuite {
  suite: string;
  /** The failed target it waited for (`deploy:kubernetes`). */
  target: string;
  /** What could not be reached. */
  what: string;
  /** The target's failure message. */
  error: string;
}

export interface UnavailableOutcome {
  /** Every target built, or failed only as unavailable (and the rest was skipped for that). */
  ok: boolean;
  suites: UnavailableSuite[];
}

/** The failed target a skipped one is waiting on, following skips through their dependencies. */
function rootFailure(name: string, targets: Record<string, TargetResult>): [string, TargetResult] | undefined {
  const seen = new Set<string>();
  let cur = name;
  for (;;) {
    if (seen.has(cur)) return undefined;
    seen.add(cur);
    const r = targets[cur];
    if (!r) return undefined;
    if (r.status === 'failed') return [cur, r];
    if (r.status !== 'skipped' || r.skip?.kind !== 'dependency') return undefined;
    cur = r.skip.dependency;
  }
}

export function unavailableOutcome(summary: BuildSummary): UnavailableOutcome {
  const entries = Object.entries(summary.targets);
  const suites: UnavailableSuite[] = [];
  let ok = !summary.interrupted;
  for (const [name, r] of entries) {
    if (r.status === 'failed' && r.fail?.kind !== 'unavailable') ok = false;
    if (r.status !== 'skipped') continue;
    const root = rootFailure(name, summary.targets);
    const fail = root?.[1].fail;
    if (!root || fail?.kind !== 'unavailable') {
      ok = false;
      continue;
    }
    if (name.startsWith('test:')) suites.push({ suite: name.slice('test:'.length), target: root[0], what: fail.what, error: root[1].error ?? '' });
  }
  return { ok: summary.ok || ok, suites };
}

/** A skipped suite's result: each of its checks skipped with the reason. */
export function unavailableSuiteResults(skips: readonly UnavailableSuite[], defs: readonly SuiteDef[], clusterOf: (suite: SuiteDef) => string, now = new Date()): SuiteResult[] {
  const out: SuiteResult[] = [];
  for (const s of skips) {
    const def = defs.find((d) => d.name === s.suite);
    if (!def) continue;
    const message = `not run: ${s.target} could not reach ${s.what}`;
    out.push({
      suite: s.suite,
      cluster: clusterOf(def),
      status: 'pass',
      durationMs: 0,
      startedAt: now.toISOString(),
      checks: def.checks.map((c) => ({ suite: s.suite, check: c.name, node: '-', status: 'skip', durationMs: 0, output: s.error, message })),
    });
  }
  return out;
}
