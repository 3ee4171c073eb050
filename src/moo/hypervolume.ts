/**
 * Exact hypervolume (the Lebesgue measure of the region dominated by a point set and bounded by a
 * reference point), for minimisation.
 *  - 2-D: sort by the first objective and sum rectangles, O(n log n).
 *  - 3-D: a sweep along the third objective keeping the 2-D front of the points seen so far in
 *    x order (each insertion O(n)), O(n²) overall: exact and fast for the few thousand points a
 *    search archive holds.
 *  - d > 3: hypervolume by slicing objectives (HSO, While et al. 2006) down to the 3-D case;
 *    exponential in d in the worst case, fine for the small fronts of an architecture search.
 * Points that do not strictly dominate the reference point contribute nothing and are dropped.
 */

export function hypervolume(points: readonly (readonly number[])[], ref: readonly number[]): number {
  const d = ref.length;
  const inside = points.filter((p) => p.length === d && p.every((v, i) => v < ref[i]));
  if (inside.length === 0) return 0;
  // The 2-D and 3-D sweeps skip dominated points themselves; slicing needs them filtered.
  return hv(d <= 3 ? inside.map((p) => [...p]) : nonDominated(inside.map((p) => [...p])), ref);
}

function hv(points: number[][], ref: readonly number[]): number {
  const d = ref.length;
  if (points.length === 0) return 0;
  if (d === 1) return ref[0] - Math.min(...points.map((p) => p[0]));
  if (d === 2) return hv2(points, ref);
  if (d === 3) return hv3(points, ref);
  // Slice along the last objective: between consecutive values, the dominated region is the
  // (d-1)-dimensional hypervolume of the points at or below the slice, times the slice's depth.
  const last = d - 1;
  const sorted = [...points].sort((a, b) => a[last] - b[last]);
  const subRef = ref.slice(0, last);
  let volume = 0;
  const active: number[][] = [];
  for (let i = 0; i < sorted.length; i++) {
    active.push(sorted[i].slice(0, last));
    const next = i + 1 < sorted.length ? sorted[i + 1][last] : ref[last];
    const depth = next - sorted[i][last];
    if (depth > 0) volume += hv(last <= 3 ? active : nonDominated(active), subRef) * depth;
  }
  return volume;
}

function hv2(points: number[][], ref: readonly number[]): number {
  const sorted = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let area = 0;
  let yBound = ref[1];
  for (const [x, y] of sorted) {
    if (y < yBound) {
      area += (ref[0] - x) * (yBound - y);
      yBound = y;
    }
  }
  return area;
}

function hv3(points: number[][], ref: readonly number[]): number {
  const sorted = [...points].sort((a, b) => a[2] - b[2]);
  // The 2-D staircase of the points swept so far: x ascending, y strictly descending.
  const xs: number[] = [];
  const ys: number[] = [];
  let area = 0;
  let volume = 0;
  for (let i = 0; i < sorted.length; i++) {
    const [x, y] = sorted[i];
    area += insertStaircase(xs, ys, x, y, ref[0], ref[1]);
    const next = i + 1 < sorted.length ? sorted[i + 1][2] : ref[2];
    volume += area * (next - sorted[i][2]);
  }
  return volume;
}

/** Inserts (x, y) into the staircase; returns the area it adds (0 when dominated). */
function insertStaircase(xs: number[], ys: number[], x: number, y: number, rx: number, ry: number): number {
  // First index with xs[k] > x.
  let lo = 0, hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  const pos = lo;
  // The point left of (or at) x with the smallest y bounds the new point from above.
  const yAbove = pos > 0 ? ys[pos - 1] : ry;
  if (y >= yAbove) return 0; // weakly dominated
  // Remove the points to the right that the new point dominates (their y >= y), tracking the area lost.
  let end = pos;
  while (end < xs.length && ys[end] >= y) end++;
  // Area added = area under the new staircase minus under the old one, over x in [x, rx].
  let added = 0;
  let curX = x;
  let curTop = yAbove; // the old staircase height at curX
  for (let k = pos; k < end; k++) {
    added += (xs[k] - curX) * (curTop - y);
    curX = xs[k];
    curTop = ys[k];
  }
  const rightX = end < xs.length ? xs[end] : rx;
  added += (rightX - curX) * (curTop - y);
  xs.splice(pos, end - pos, x);
  ys.splice(pos, end - pos, y);
  return added;
}

/** Drops dominated and duplicate points (weak dominance), keeping one copy of each. */
export function nonDominated(points: number[][]): number[][] {
  const sorted = [...points].sort((a, b) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
    return 0;
  });
  const out: number[][] = [];
  for (const p of sorted) {
    // Sorted lexicographically, a point can only be weakly dominated by one before it.
    if (!out.some((q) => q.every((v, i) => v <= p[i]))) out.push(p);
  }
  return out;
}
