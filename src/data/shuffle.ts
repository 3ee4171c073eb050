/** A small seeded PRNG (mulberry32): the same seed gives the same split on every machine and Node version. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded Fisher-Yates permutation of 0..n-1. */
export function permutation(n: number, seed: number): Int32Array {
  const rand = mulberry32(seed);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/**
 * A seeded subset of `size` rows that keeps the class proportions of `labels` (proportional
 * allocation, the rounding remainders going to the classes with the largest fractional quotas, ties
 * to the lower class index), each class's rows drawn at random by one seeded permutation of all rows.
 * Returned sorted. `size` at or above the row count gives every row.
 */
export function stratifiedSubset(labels: ArrayLike<number>, size: number, seed: number): Int32Array {
  const n = labels.length;
  if (size >= n) return Int32Array.from({ length: n }, (_, i) => i);
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) counts.set(labels[i], (counts.get(labels[i]) ?? 0) + 1);
  const classes = [...counts.keys()].sort((a, b) => a - b);
  const exact = classes.map((c) => (size * counts.get(c)!) / n);
  const quota = new Map(classes.map((c, k) => [c, Math.floor(exact[k])]));
  let left = size - [...quota.values()].reduce((a, b) => a + b, 0);
  const byRemainder = classes.map((c, k) => ({ c, r: exact[k] - Math.floor(exact[k]) })).sort((a, b) => b.r - a.r || a.c - b.c);
  for (let k = 0; left > 0; k = (k + 1) % byRemainder.length) {
    const c = byRemainder[k].c;
    if (quota.get(c)! < counts.get(c)!) {
      quota.set(c, quota.get(c)! + 1);
      left--;
    }
  }
  const out: number[] = [];
  for (const i of permutation(n, seed)) {
    const q = quota.get(labels[i])!;
    if (q > 0) {
      out.push(i);
      quota.set(labels[i], q - 1);
    }
  }
  return Int32Array.from(out.sort((a, b) => a - b));
}
