/**
 * Standard multi-objective test problems with known Pareto fronts, used to test and benchmark the
 * optimisers: ZDT1, ZDT2, ZDT3 (Zitzler, Deb, Thiele 2000; 30 variables), DTLZ2 (Deb, Thiele,
 * Laumanns, Zitzler 2002; M objectives, k = 10), and the constrained BNH (Binh & Korn 1997) and
 * SRN (Srinivas & Deb 1994). Constraints are normalised as in Deb's book so that one violation sum
 * treats them alike.
 */
import type { Bounds } from './real';

export interface RealProblem extends Bounds {
  name: string;
  nObjectives: number;
  evaluate(x: readonly number[]): { objectives: number[]; violation: number };
  /** `n` points of the true Pareto front (objective space), for reference hypervolumes. */
  trueFront(n: number): number[][];
}

const box = (n: number, lo: number, hi: number) => ({ lower: new Array(n).fill(lo), upper: new Array(n).fill(hi) });
const violation = (gs: number[]) => gs.reduce((s, g) => s + Math.max(0, g), 0);

function zdtG(x: readonly number[]): number {
  let s = 0;
  for (let i = 1; i < x.length; i++) s += x[i];
  return 1 + (9 * s) / (x.length - 1);
}

function zdt(name: string, h: (f1: number, g: number) => number, front: (n: number) => number[][], n = 30): RealProblem {
  return {
    name,
    nObjectives: 2,
    ...box(n, 0, 1),
    evaluate: (x) => {
      const f1 = x[0], g = zdtG(x);
      return { objectives: [f1, g * h(f1, g)], violation: 0 };
    },
    trueFront: front,
  };
}

const linspace = (n: number, lo: number, hi: number) => Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));

export const zdt1 = (): RealProblem =>
  zdt('ZDT1', (f1, g) => 1 - Math.sqrt(f1 / g), (n) => linspace(n, 0, 1).map((f) => [f, 1 - Math.sqrt(f)]));

export const zdt2 = (): RealProblem =>
  zdt('ZDT2', (f1, g) => 1 - (f1 / g) ** 2, (n) => linspace(n, 0, 1).map((f) => [f, 1 - f * f]));

/** ZDT3's front is the non-dominated part of g = 1 (five disconnected pieces). */
export const zdt3 = (): RealProblem =>
  zdt(
    'ZDT3',
    (f1, g) => 1 - Math.sqrt(f1 / g) - (f1 / g) * Math.sin(10 * Math.PI * f1),
    (n) => {
      const pts = linspace(n, 0, 1).map((f) => [f, 1 - Math.sqrt(f) - f * Math.sin(10 * Math.PI * f)]);
      let best = Infinity;
      const out: number[][] = [];
      for (const p of pts) if (p[1] < best) { out.push(p); best = p[1]; }
      return out;
    },
  );

/** DTLZ2 with M objectives and M - 1 + k variables in [0, 1]; the front is the unit sphere's positive orthant. */
export function dtlz2(m = 3, k = 10): RealProblem {
  const n = m - 1 + k;
  return {
    name: `DTLZ2-${m}`,
    nObjectives: m,
    ...box(n, 0, 1),
    evaluate: (x) => {
      let g = 0;
      for (let i = m - 1; i < n; i++) g += (x[i] - 0.5) ** 2;
      const f: number[] = [];
      for (let i = 0; i < m; i++) {
        let v = 1 + g;
        for (let j = 0; j < m - 1 - i; j++) v *= Math.cos((x[j] * Math.PI) / 2);
        if (i > 0) v *= Math.sin((x[m - 1 - i] * Math.PI) / 2);
        f.push(v);
      }
      return { objectives: f, violation: 0 };
    },
    trueFront: (count) => {
      if (m !== 3) throw new Error('DTLZ2.trueFront samples the 3-objective front only');
      const side = Math.max(2, Math.round(Math.sqrt(count)));
      const out: number[][] = [];
      for (const a of linspace(side, 0, 1)) for (const b of linspace(side, 0, 1)) {
        const t = (a * Math.PI) / 2, p = (b * Math.PI) / 2;
        out.push([Math.cos(t) * Math.cos(p), Math.cos(t) * Math.sin(p), Math.sin(t)]);
      }
      return out;
    },
  };
}

/** BNH: two objectives, two constraints (Deb, Multi-objective optimization using EAs, 2001, p. 362). Front: x1 = x2 in [0, 3], then x2 = 3, x1 in [3, 5]. */
export const bnh = (): RealProblem => ({
  name: 'BNH',
  nObjectives: 2,
  lower: [0, 0],
  upper: [5, 3],
  evaluate: ([x1, x2]) => ({
    objectives: [4 * x1 * x1 + 4 * x2 * x2, (x1 - 5) ** 2 + (x2 - 5) ** 2],
    violation: violation([((x1 - 5) ** 2 + x2 * x2) / 25 - 1, 1 - ((x1 - 8) ** 2 + (x2 + 3) ** 2) / 7.7]),
  }),
  trueFront: (n) => {
    const half = Math.ceil(n / 2);
    const xs = [...linspace(half, 0, 3).map((v) => [v, v]), ...linspace(n - half + 1, 3, 5).slice(1).map((v) => [v, 3])];
    return xs.map(([x1, x2]) => [4 * x1 * x1 + 4 * x2 * x2, (x1 - 5) ** 2 + (x2 - 5) ** 2]);
  },
});

/** SRN: two objectives, two constraints, both active on the front: x1 = -2.5, x2 in [2.5, sqrt(218.75)]. */
export const srn = (): RealProblem => ({
  name: 'SRN',
  nObjectives: 2,
  lower: [-20, -20],
  upper: [20, 20],
  evaluate: ([x1, x2]) => ({
    objectives: [2 + (x1 - 2) ** 2 + (x2 - 1) ** 2, 9 * x1 - (x2 - 1) ** 2],
    violation: violation([(x1 * x1 + x2 * x2) / 225 - 1, (x1 - 3 * x2) / 10 + 1]),
  }),
  trueFront: (n) =>
    linspace(n, 2.5, Math.sqrt(218.75)).map((x2) => [2 + 4.5 ** 2 + (x2 - 1) ** 2, -22.5 - (x2 - 1) ** 2]),
});
