/**
 * Durations for people, one compact style everywhere (build output, suite
 * tables, e2e steps, cluster commands): `850ms`, `12.3s`, `4m05s`, `75m00s`.
 * No space inside, so a duration is one word in a table column.
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  // 59.95 s and over reads as a minute (toFixed(1) would print "60.0s").
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
