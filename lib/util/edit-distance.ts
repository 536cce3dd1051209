/**
 * Edit distance for "did you mean …?" hints (config keys, target names): the
 * optimal string alignment distance, where inserting, deleting or substituting
 * a character, or swapping two neighbours, costs one (`memroy` is one slip
 * from `memory`, not two as plain Levenshtein counts it).
 */
export function editDistance(a: string, b: string): number {
  // Three rolling rows: i-2, i-1, i.
  let before = new Array<number>(b.length + 1).fill(0);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = new Array<number>(b.length + 1);
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, before[j - 2]! + 1);
      cur[j] = v;
    }
    before = prev;
    prev = cur;
  }
  return prev[b.length]!;
}
