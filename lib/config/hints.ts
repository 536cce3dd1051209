/** "did you mean …?" suggestions by edit distance. */

/** Optimal string alignment distance: insert, delete, substitute, swap neighbours. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      // `memroy` is one slip, not two.
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate within a distance that still reads as a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(w, c.toLowerCase());
    if (dist < bestD) {
      bestD = dist;
      best = c;
    }
  }
  // Short words get little slack: `gpu` is not a typo of `ip`.
  const limit = word.length <= 4 ? 1 : Math.max(2, Math.floor(word.length / 3));
  if (best !== undefined && bestD <= limit) return best;
  // A shortened or extended name: `image_path` → `base_image_path`, `workers` → `worker_nodes`.
  if (w.length >= 4) {
    for (const c of candidates) {
      const cl = c.toLowerCase();
      if (cl.includes(w) || w.includes(cl)) return c;
      let k = 0;
      while (k < w.length && k < cl.length && w[k] === cl[k]) k++;
      if (k >= 5 && k >= Math.min(w.length, cl.length) - 2) return c;
    }
  }
  return undefined;
}
