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

export interface TargetResult {
  status: TargetStatus;
  /** Time spent running (built/failed) or checking (cached). */
  durationMs: number;
  /** Why it ran / would run / was skipped / failed. */
  reason?: string;
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
