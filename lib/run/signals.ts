/**
 * SIGINT (Ctrl-C), SIGTERM and SIGHUP (the terminal went away) stop a run the
 * same way: the first aborts the build (running targets' process groups get
 * SIGTERM, then SIGKILL after the grace period; nothing more starts; nothing
 * half-done is recorded; the lock is released as the build unwinds). A
 * second signal kills the live process groups at once and exits (the lock is
 * still released, by its exit handler).
 *
 * A closed output (`pharos build | head` once head has exited, a reader that
 * died) stops a build the same way, as SIGPIPE would stop a C program but with
 * the unwinding above: writes to it fail with EPIPE, which `watchOutput`
 * (installed by main) turns into that stop instead of an uncaught error. With
 * no build running, the failed writes are dropped and the command finishes.
 *
 * Exit status: 128 + the signal's number, as shells report a process killed
 * by it: SIGHUP 129, SIGINT 130, SIGPIPE 141, SIGTERM 143.
 */
import { PharosError } from '../errors.js';
import { killProcessGroup, liveChildren } from '../tools/exec.js';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];
/** What stops a run: a signal, or SIGPIPE's case, the output closed under it. */
export type StopCause = StopSignal | 'SIGPIPE';
export const SIGNAL_EXIT: Readonly<Record<StopCause, number>> = { SIGHUP: 129, SIGINT: 130, SIGPIPE: 141, SIGTERM: 143 };

const outputGone = new Set<() => void>();
let watching = false;
let gone = false;

/** Calls `cb` (once) when the output closes; the returned function stops that. */
export function onOutputGone(cb: () => void): () => void {
  outputGone.add(cb);
  return () => void outputGone.delete(cb);
}

/**
 * Once per process (main): an error on stdout or stderr (EPIPE, EIO) means
 * the reader is gone. Later writes are dropped; a running build is told once.
 */
export function watchOutput(): void {
  if (watching) return;
  watching = true;
  const onError = (): void => {
    if (gone) return;
    gone = true;
    for (const l of outputGone) l();
  };
  process.stdout.on('error', onError);
  process.stderr.on('error', onError);
}

/** Call it to remove the handlers. */
export interface Interrupt {
  (): void;
  /** The first stop signal seen (SIGPIPE: the output closed), if any. */
  readonly signal: StopCause | undefined;
  /** Exit status of an interrupted run: by the signal (130 when the abort came from elsewhere). */
  exitCode(): number;
}

const ignore = (): void => {};

export function onInterrupt(ac: AbortController): Interrupt {
  let first: StopCause | undefined;
  const handler = (sig: StopCause): void => {
    // A closed output is not a second Ctrl-C: it never forces the stop.
    if (sig === 'SIGPIPE' && first !== undefined) return;
    if (sig === 'SIGHUP') {
      // The terminal is gone: writing to it fails with EIO; that must not crash the unwinding.
      process.stdout.on('error', ignore);
      process.stderr.on('error', ignore);
    }
    if (first === undefined) {
      first = sig;
      if (process.stderr.isTTY && sig !== 'SIGHUP' && !gone) process.stderr.write(`\ninterrupted (${sig}): stopping running targets (${sig === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to force)\n`);
      ac.abort(new PharosError(`interrupted by ${sig}`, { exitCode: SIGNAL_EXIT[sig] }));
      return;
    }
    for (const pid of liveChildren()) killProcessGroup(pid, 'SIGKILL');
    process.exit(SIGNAL_EXIT[first]);
  };
  const handlers = STOP_SIGNALS.map((s) => [s, () => handler(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const offGone = onOutputGone(() => handler('SIGPIPE'));
  const off = (): void => {
    for (const [s, h] of handlers) process.off(s, h);
    offGone();
  };
  return Object.assign(off, {
    get signal() {
      return first;
    },
    exitCode: () => (first ? SIGNAL_EXIT[first] : 130),
  });
}
