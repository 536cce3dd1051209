/**
 * SIGINT (Ctrl-C), SIGTERM and SIGHUP (the terminal went away) stop a run the
 * same way: the first aborts the build (running targets' process groups get
 * SIGTERM, then SIGKILL after the grace period; nothing more starts; nothing
 * half-done is recorded; the lock is released as the build unwinds). A
 * second signal kills the live process groups at once and exits (the lock is
 * still released, by its exit handler).
 *
 * Exit status: 128 + the signal's number, as shells report a process killed
 * by it: SIGHUP 129, SIGINT 130, SIGTERM 143.
 */
import { PharosError } from '../errors.js';
import { killProcessGroup, liveChildren } from '../tools/exec.js';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];
export const SIGNAL_EXIT: Readonly<Record<StopSignal, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/** Call it to remove the handlers. */
export interface Interrupt {
  (): void;
  /** The first stop signal seen, if any. */
  readonly signal: StopSignal | undefined;
  /** Exit status of an interrupted run: by the signal (130 when the abort came from elsewhere). */
  exitCode(): number;
}

const ignore = (): void => {};

export function onInterrupt(ac: AbortController): Interrupt {
  let first: StopSignal | undefined;
  const handler = (sig: StopSignal): void => {
    if (sig === 'SIGHUP') {
      // The terminal is gone: writing to it fails with EIO; that must not crash the unwinding.
      process.stdout.on('error', ignore);
      process.stderr.on('error', ignore);
    }
    if (first === undefined) {
      first = sig;
      if (process.stderr.isTTY && sig !== 'SIGHUP') process.stderr.write(`\ninterrupted (${sig}): stopping running targets (${sig === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to force)\n`);
      ac.abort(new PharosError(`interrupted by ${sig}`, { exitCode: SIGNAL_EXIT[sig] }));
      return;
    }
    for (const pid of liveChildren()) killProcessGroup(pid, 'SIGKILL');
    process.exit(SIGNAL_EXIT[first]);
  };
  const handlers = STOP_SIGNALS.map((s) => [s, () => handler(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const off = (): void => {
    for (const [s, h] of handlers) process.off(s, h);
  };
  return Object.assign(off, {
    get signal() {
      return first;
    },
    exitCode: () => (first ? SIGNAL_EXIT[first] : 130),
  });
}
