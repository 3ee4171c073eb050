/**
 * Pareto dominance, Deb's constraint-domination, fast non-dominated sorting and crowding distance
 * (Deb, Pratap, Agarwal, Meyarivan: "A fast and elitist multiobjective genetic algorithm: NSGA-II",
 * IEEE TEC 6(2), 2002, sections III-A, III-B and IV).
 */

export interface Point {
  objectives: number[];
  /** 0 = feasible. */
  violation: number;
}

/** a Pareto-dominates b: no worse in every objective and better in at least one (minimisation). */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) better = true;
  }
  return better;
}

/**
 * Constraint-domination: a feasible point beats an infeasible one; of two infeasible points the
 * one with the smaller total violation wins; two feasible points compare by Pareto dominance.
 */
export function constrainedDominates(a: Point, b: Point): boolean {
  const fa = a.violation <= 0, fb = b.violation <= 0;
  if (fa && !fb) return true;
  if (!fa && fb) return false;
  if (!fa && !fb) return a.violation < b.violation;
  return dominates(a.objectives, b.objectives);
}

/**
 * Fast non-dominated sort, O(M N²): the fronts as lists of indices into `points`, best first.
 * Within a front, indices keep their input order (determinism).
 */
export function nonDominatedSort(points: readonly Point[], dom: (a: Point, b: Point) => boolean = constrainedDominates): number[][] {
  const n = points.length;
  const dominatedBy: number[][] = Array.from({ length: n }, () => []);
  const count = new Int32Array(n);
  for (let p = 0; p < n; p++) {
    for (let q = p + 1; q < n; q++) {
      if (dom(points[p], points[q])) {
        dominatedBy[p].push(q);
        count[q]++;
      } else if (dom(points[q], points[p])) {
        dominatedBy[q].push(p);
        count[p]++;
      }
    }
  }
  const fronts: number[][] = [];
  let current: number[] = [];
  for (let p = 0; p < n; p++) if (count[p] === 0) current.push(p);
  while (current.length) {
    fronts.push(current);
    const next: number[] = [];
    for (const p of current) {
      for (const q of dominatedBy[p]) if (--count[q] === 0) next.push(q);
    }
    next.sort((x, y) => x - y);
    current = next;
  }
  return fronts;
}

/**
 * Crowding distance of each member of one front (same order as `front`). Boundary points of each
 * objective get Infinity; the others the sum over objectives of the normalised side length of the
 * cuboid formed by their neighbours.
 */
export function crowdingDistance(objectives: readonly (readonly number[])[]): number[] {
  const n = objectives.length;
  const dist = new Array<number>(n).fill(0);
  if (n === 0) return dist;
  if (n <= 2) return dist.fill(Infinity);
  const m = objectives[0].length;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let k = 0; k < m; k++) {
    order.sort((a, b) => objectives[a][k] - objectives[b][k] || a - b);
    const lo = objectives[order[0]][k], hi = objectives[order[n - 1]][k];
    dist[order[0]] = Infinity;
    dist[order[n - 1]] = Infinity;
    if (!(hi > lo)) continue;
    for (let i = 1; i < n - 1; i++) {
      dist[order[i]] += (objectives[order[i + 1]][k] - objectives[order[i - 1]][k]) / (hi - lo);
    }
  }
  return dist;
}

/** The non-dominated feasible points (indices); when nothing is feasible, the least-violating ones. */
export function paretoIndices(points: readonly Point[]): number[] {
  const feasible = points.map((p, i) => i).filter((i) => points[i].violation <= 0);
  if (feasible.length === 0) {
    const least = Math.min(...points.map((p) => p.violation));
    return points.map((p, i) => i).filter((i) => points[i].violation === least);
  }
  return feasible.filter((i) => !feasible.some((j) => j !== i && dominates(points[j].objectives, points[i].objectives)));
}

/**
 * An unbounded archive of mutually non-dominated feasible objective vectors, updated one point at
 * a time (what the search has found so far, independent of what the population still holds).
 */
export class ParetoArchive<T extends Point = Point> {
  readonly members: T[] = [];

  /** Adds `p` unless it is infeasible, dominated, or equal to a member; drops members it dominates. Returns whether it was added. */
  add(p: T): boolean {
    if (p.violation > 0) return false;
    for (const m of this.members) {
      if (dominates(m.objectives, p.objectives) || m.objectives.every((v, i) => v === p.objectives[i])) return false;
    }
    for (let i = this.members.length - 1; i >= 0; i--) {
      if (dominates(p.objectives, this.members[i].objectives)) this.members.splice(i, 1);
    }
    this.members.push(p);
    return true;
  }
}
