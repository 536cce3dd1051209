/** "did you mean …?" suggestions by edit distance. */

import { editDistance } from '../util/edit-distance.js';

export { editDistance };

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
