/**
 * `pharos build --trace FILE`: the build as a Chrome/Perfetto trace (the
 * JSON "trace event" format: open it in ui.perfetto.dev or chrome://tracing).
 * Made only from the engine's typed events (events.ts), so tracing cannot
 * change what the build does:
 *
 * - each target is one complete slice (`ph: 'X'`): it ends at its
 *   `target-done`, and starts `durationMs` earlier (checking included, so a
 *   cached target is a short slice too); `args` holds status, reason, error;
 * - each pool is a group of tracks (`tid`s named by `thread_name` metadata,
 *   `pool vm #1`, `pool vm #2`, …), targets without a pool go on `jobs #N`
 *   tracks; a slice takes the lowest track of its pool that is free for its
 *   whole span, so a pool of capacity N never needs more than N tracks;
 * - timestamps are microseconds since `build-start`.
 *
 * The file is written (atomically) at `build-done`, or at `close()` when the
 * build ended without one. `openTrace` checks first that it can be written.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PharosError } from '../errors.js';
import { writeFileAtomicSync } from '../util/atomic.js';
import type { BuildEvent, Reporter } from './events.js';

export interface TraceEvent {
  name: string;
  ph: 'X' | 'M' | 'i';
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  cat?: string;
  s?: 't' | 'p' | 'g';
  args?: Record<string, unknown>;
}

export interface TraceFile {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
}

const PID = 1;

interface Track {
  tid: number;
  /** [start, end] (µs) of the slices on it. */
  spans: Array<[number, number]>;
}

/**
 * A reporter that records the trace and writes it to `file`. `poolOf` names
 * each target's pool (undefined: none); `now` is the clock in ms (tests).
 */
export function traceReporter(file: string, poolOf: (name: string) => string | undefined, now: () => number = () => performance.now()): Reporter & { trace(): TraceFile } {
  let t0: number | undefined;
  let written = false;
  const slices: TraceEvent[] = [];
  const meta: TraceEvent[] = [{ name: 'process_name', ph: 'M', ts: 0, pid: PID, tid: 0, args: { name: 'pharos build' } }];
  const tracks = new Map<string, Track[]>();
  let nextTid = 1;

  const us = (ms: number): number => Math.round(ms * 1000);
  const trackFor = (group: string, start: number, end: number): number => {
    let list = tracks.get(group);
    if (!list) tracks.set(group, (list = []));
    const free = list.find((t) => t.spans.every(([s, e]) => e <= start || s >= end));
    if (free) {
      free.spans.push([start, end]);
      return free.tid;
    }
    const tid = nextTid++;
    list.push({ tid, spans: [[start, end]] });
    const label = `${group} #${list.length}`;
    meta.push({ name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid, args: { name: label } });
    meta.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid: PID, tid, args: { sort_index: tid } });
    return tid;
  };
  const trace = (): TraceFile => ({ traceEvents: [...meta, ...slices], displayTimeUnit: 'ms' });
  const write = (): void => {
    if (written) return;
    written = true;
    try {
      writeFileAtomicSync(file, `${JSON.stringify(trace())}\n`);
    } catch (e) {
      // The build's result stands; the trace is what is lost, and that is said.
      process.stderr.write(`warning: cannot write the trace ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  };

  return {
    trace,
    event(e: BuildEvent) {
      if (e.type === 'build-start') {
        t0 = now();
        meta.push({ name: 'build-start', ph: 'i', ts: 0, pid: PID, tid: 0, s: 'g', args: { requested: e.requested, total: e.total, jobs: e.jobs, dryRun: e.dryRun } });
        return;
      }
      if (t0 === undefined) return;
      if (e.type === 'target-done') {
        const end = us(now() - t0);
        const dur = Math.min(end, us(e.durationMs));
        const pool = poolOf(e.name);
        const tid = trackFor(pool ? `pool ${pool}` : 'jobs', end - dur, end);
        const args: Record<string, unknown> = { status: e.status };
        if (e.reason) args.reason = e.reason;
        if (e.error) args.error = e.error;
        if (e.logPath) args.log = e.logPath;
        slices.push({ name: e.name, cat: e.status, ph: 'X', ts: end - dur, dur, pid: PID, tid, args });
      } else if (e.type === 'build-done') {
        const s = e.summary;
        slices.push({ name: s.interrupted ? 'interrupted' : s.ok ? 'ok' : 'FAILED', ph: 'i', ts: us(now() - t0), pid: PID, tid: 0, s: 'g', args: { counts: s.counts, criticalPath: s.criticalPath.targets } });
        write();
      }
    },
    close() {
      if (t0 !== undefined) write();
    },
  };
}

/** Makes FILE's directory and an empty trace in it before the build, so a path that cannot be written fails first (exit 74). */
export function openTrace(file: string): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileAtomicSync(file, `${JSON.stringify({ traceEvents: [], displayTimeUnit: 'ms' })}\n`);
  } catch (e) {
    throw new PharosError(`cannot write the trace ${file}: ${e instanceof Error ? e.message : String(e)}`, { hint: 'give --trace a file in a writable directory', exitCode: 74 });
  }
}
