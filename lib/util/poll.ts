/**
 * Polling with a growing pause: the one loop behind every "wait until it is
 * ready" (the SSH banner, host keys on the console, a domain shutting down,
 * Slurm states). The pause starts at `firstDelayMs`, doubles up to
 * `maxDelayMs` and never sleeps past the deadline; the last try is at (or
 * just after) the deadline. The caller says what it waited for when it gets
 * `undefined` back, as only it knows what the last try saw.
 */

export interface PollOptions {
  /** How long to keep trying, from the first try. */
  timeoutMs: number;
  /** The first pause between tries. */
  firstDelayMs: number;
  /** The longest pause. */
  maxDelayMs: number;
}

/**
 * Calls `attempt` (with the milliseconds left before the deadline, 0 at the
 * last try) until it returns a value other than `undefined`; returns that value
 * and how long it took, or `undefined` when the deadline passed first. An
 * `attempt` that throws ends the poll with that error.
 */
export async function pollWithBackoff<T>(attempt: (leftMs: number) => Promise<T | undefined>, opts: PollOptions): Promise<{ value: T; waitedMs: number } | undefined> {
  const start = Date.now();
  const deadline = start + opts.timeoutMs;
  let delay = opts.firstDelayMs;
  for (;;) {
    const value = await attempt(Math.max(0, deadline - Date.now()));
    if (value !== undefined) return { value, waitedMs: Date.now() - start };
    const pause = Math.min(delay, deadline - Date.now());
    if (pause <= 0) return undefined;
    await new Promise<void>((r) => setTimeout(r, pause));
    delay = Math.min(delay * 2, opts.maxDelayMs);
  }
}
