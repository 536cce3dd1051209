/**
 * What a build tells the world: a typed union of events consumed by reporters
 * (status line, plain lines, NDJSON) and by tests. The engine never prints.
 */

/**
 * - `built`: ran and succeeded (record written);
 * - `cached`: up to date (key, output files and probe agree), nothing ran;
 * - `failed`: ran (or its check) and failed; nothing recorded;
 * - `skipped`: not attempted: a dependency failed, the build stopped after a
 *   failure, or it was interrupted;
 * - `would-build`: dry run only: it is stale for a reason of its own (inputs,
 *   definition, a probe, no record...) and would run whatever its dependencies
 *   give;
 * - `may-cut-off`: dry run only: it is up to date if the dependencies that
 *   would rebuild give the outputs it was last built with (early cutoff), and
 *   runs if they do not: which one, only the real build can tell.
 */
export type TargetStatus = 'built' | 'cached' | 'failed' | 'skipped' | 'would-build' | 'may-cut-off';

/** Why a target was not attempted (status `skipped`). */
export type SkipReason =
  /** A dependency failed, or was itself skipped. */
  | { kind: 'dependency'; dependency: string; status: 'failed' | 'skipped' }
  /** An earlier failure stopped the build (no keepGoing). */
  | { kind: 'stopped-after-failure' }
  /** The build ended with it still queued (nothing could start it). */
  | { kind: 'build-stopped' }
  /** Ctrl-C (the build's signal) came before it started. */
  | { kind: 'interrupted' };

/** Why a target failed (status `failed`); the message is in `error`. */
export type FailReason =
  /** Its check (key, stats, probe) or its run threw. */
  | { kind: 'error'; while: 'checking' | 'running' }
  /** The build was interrupted while it checked or ran. */
  | { kind: 'interrupted' }
  /** It needs something outside this machine that cannot be reached (lib/errors.ts UnavailableError). */
  | { kind: 'unavailable'; what: string };

/** The sentence a reporter prints for a skip (the result's `reason`). */
export function skipText(r: SkipReason): string {
  switch (r.kind) {
    case 'dependency':
      return `dependency ${r.dependency} ${r.status === 'failed' ? 'failed' : 'was skipped'}`;
    case 'stopped-after-failure':
      return 'build stopped after a failure';
    case 'build-stopped':
      return 'build stopped';
    case 'interrupted':
      return 'interrupted';
  }
}

/** The sentence a reporter prints for a failure's cause (the result's `reason`). */
export function failText(r: FailReason): string {
  if (r.kind === 'interrupted') return 'interrupted';
  if (r.kind === 'unavailable') return `${r.what} cannot be reached`;
  return `failed while ${r.while}`;
}

export interface TargetResult {
  status: TargetStatus;
  /** Time spent running (built/failed) or checking (cached). */
  durationMs: number;
  /** Why it ran / would run / was skipped / failed, as a sentence (for skips and failures: `skipText`/`failText` of `skip`/`fail`). */
  reason?: string;
  /** For `skipped`: why, as a value (compare this, not `reason`). */
  skip?: SkipReason;
  /** For `failed`: why, as a value (compare this, not `reason`). */
  fail?: FailReason;
  /** Failure message (for `failed`). */
  error?: string;
  /** The target's log file, when it ran. */
  logPath?: string;
}

export interface BuildSummary {
  ok: boolean;
  interrupted: boolean;
  dryRun: boolean;
  /** Targets requested after alias/glob expansion. */
  requested: string[];
  wallMs: number;
  counts: Record<TargetStatus, number>;
  targets: Record<string, TargetResult>;
  /** Longest chain of this run's durations through the graph (the wall-time floor). */
  criticalPath: { targets: string[]; durationMs: number };
  /** Files/bytes actually read for digests (the stat fast path skips unchanged ones). */
  hashed: { files: number; bytes: number };
}

export type BuildEvent =
  | { type: 'build-start'; total: number; jobs: number; dryRun: boolean; requested: string[] }
  | { type: 'target-start'; name: string; reason: string; index: number; total: number }
  | { type: 'target-phase'; name: string; text: string }
  | { type: 'target-output'; name: string; line: string }
  | {
      type: 'target-done';
      name: string;
      status: TargetStatus;
      durationMs: number;
      reason?: string;
      skip?: SkipReason;
      fail?: FailReason;
      error?: string;
      logPath?: string;
      /** Last lines of the log, for failures. */
      logTail?: string[];
      /** How many targets have finished, out of `total`. */
      finished: number;
      total: number;
    }
  | { type: 'build-done'; summary: BuildSummary }
  /** Something the user should know that is not a target's: e.g. leftovers of a crashed run were ended. */
  | { type: 'note'; text: string };

export interface Reporter {
  event(e: BuildEvent): void;
  /** Called once when the command ends (restore the terminal, flush). */
  close?(): void;
}
